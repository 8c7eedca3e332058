// CDS and EDS for router proxies: like a sidecar's outbound clusters for every service the gateway's
// namespace sees (headless services get EDS: a gateway has no original destination), no inbound or
// passthrough clusters, the BlackHoleCluster, and for AUTO_PASSTHROUGH gateways the SNI-DNAT
// clusters `outbound_.<port>_.<subset>_.<host>` that mTLS clients reach by SNI.
import { anyPack } from '@bufbuild/protobuf/wkt';
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { create } from '@bufbuild/protobuf';
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from '../../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import { labelsMatch, type IstioEndpoint } from '../../model/service.js';
import { portTrafficPolicy, subsetTrafficPolicy } from '../cluster-policy.js';
import { proxyLocalityLbEndpoints } from '../endpoints.js';
import type { NamedResource, Watch } from '../generator.js';
import { BLACKHOLE_CLUSTER, parseSubsetKey, subsetKey } from '../names.js';
import { baseCluster, outboundCluster } from '../sidecar/clusters.js';
import { dnsSrvSubsetKey } from './chains.js';
import { gatewayService } from './config.js';
import { mergedGatewayFor } from './merge.js';

function buildClusters(push: PushContext, proxy: Proxy, sniDnat: boolean): Cluster[] {
  const out: Cluster[] = [];
  const services = push.servicesVisibleTo(proxy.namespace);
  for (const svc of services) {
    // ExternalName aliases have no clusters of their own.
    if (svc.resolution === 'Alias') continue;
    const dr = push.destinationRuleFor(proxy, svc)?.resource.spec;
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      const policy = portTrafficPolicy(dr?.trafficPolicy, port);
      out.push(outboundCluster(push, proxy, svc, port, '', policy, { router: true }));
      for (const subset of dr?.subsets ?? []) {
        if (subset.name) out.push(outboundCluster(push, proxy, svc, port, subset.name, subsetTrafficPolicy(policy, subset.trafficPolicy, port), { router: true }));
      }
    }
  }
  const blackhole = baseCluster(push, BLACKHOLE_CLUSTER);
  blackhole.clusterDiscoveryType = { case: 'type', value: Cluster_DiscoveryType.STATIC };
  out.push(blackhole);
  if (sniDnat) {
    for (const svc of services) {
      if (svc.meshExternal) continue;
      const dr = push.destinationRuleFor(proxy, svc)?.resource.spec;
      for (const port of svc.ports) {
        if (port.protocol === 'UDP') continue;
        const policy = portTrafficPolicy(dr?.trafficPolicy, port);
        out.push(outboundCluster(push, proxy, svc, port, '', policy, { router: true, noTls: true, name: dnsSrvSubsetKey('', svc.hostname, port.port) }));
        for (const subset of dr?.subsets ?? []) {
          if (!subset.name) continue;
          const sp = subsetTrafficPolicy(policy, subset.trafficPolicy, port);
          out.push(outboundCluster(push, proxy, svc, port, subset.name, sp, { router: true, noTls: true, name: dnsSrvSubsetKey(subset.name, svc.hostname, port.port) }));
        }
      }
    }
  }
  return out;
}

export function gatewayClusters(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const merged = mergedGatewayFor(push, proxy);
  const all = buildClusters(push, proxy, merged?.containsAutoPassthrough === true);
  const wanted = watch.wildcard ? undefined : new Set(watch.names);
  return all.filter((c) => !wanted || wanted.has(c.name)).map((c) => ({ name: c.name, resource: anyPack(ClusterSchema, c) }));
}

/** `outbound_.80_.v1_.host` → `outbound|80|v1|host`; other names as they are. */
export function fromDnsSrvKey(name: string): string {
  const m = /^(outbound|inbound)_\.(\d+)_\.([^_]*)_\.(.+)$/.exec(name);
  return m ? subsetKey(m[1] as 'outbound' | 'inbound', m[3]!, m[4]!, Number(m[2])) : name;
}

/**
 * The endpoints of a cluster as the gateway sees its service (Sidecar resources do not scope
 * gateways): the service port's endpoints, narrowed by the subset's labels.
 */
export function gatewayLoadAssignment(push: PushContext, proxy: Proxy, name: string): ClusterLoadAssignment {
  const key = parseSubsetKey(fromDnsSrvKey(name));
  const svc = key?.direction === 'outbound' ? gatewayService(push, proxy.namespace, key.host) : undefined;
  const port = svc?.ports.find((p) => p.port === key!.port);
  let endpoints: IstioEndpoint[] = [];
  if (svc && port) {
    let selector: Record<string, string> | undefined;
    const subset = key!.subset ? push.destinationRuleFor(proxy, svc)?.resource.spec.subsets?.find((s) => s.name === key!.subset) : undefined;
    if (key!.subset) selector = subset ? (subset.labels ?? {}) : undefined;
    // An unknown subset selects nothing, as in Istio.
    if (!key!.subset || subset) endpoints = push.endpoints(svc).filter((ep) => ep.servicePortName === port.name && labelsMatch(selector, ep.labels));
  }
  const dr = svc && push.destinationRuleFor(proxy, svc);
  return create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: proxyLocalityLbEndpoints(push, proxy, svc, key?.port ?? 0, key?.subset ?? '', dr, endpoints) });
}

export function gatewayEndpoints(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  return watch.names.map((name) => ({ name, resource: anyPack(ClusterLoadAssignmentSchema, gatewayLoadAssignment(push, proxy, name)) }));
}
