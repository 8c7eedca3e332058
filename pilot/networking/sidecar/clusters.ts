// CDS for Envoy sidecars: outbound clusters per service port and subset, the inbound clusters
// of the proxy's own services, Istio's fixed clusters (BlackHole, Passthrough), and with
// outboundTrafficPolicy ALLOW_ANY_DYNAMIC_DNS the AllowAnyDynamicDNSCluster.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import {
  Cluster_DiscoveryType,
  Cluster_DnsLookupFamily,
  Cluster_LbPolicy,
  Cluster_EdsClusterConfigSchema,
  ClusterSchema,
  type Cluster,
} from '../../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { BindConfigSchema } from '../../../gen/envoy/config/core/v3/address_pb.js';
import { MetadataSchema } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { ClusterLoadAssignmentSchema } from '../../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { HttpProtocolOptionsSchema } from '../../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import type * as net from '../../config/schema/networking.js';
import type { PushContext } from '../../model/push-context.js';
import type { Proxy } from '../../model/proxy.js';
import type { Service, ServicePort } from '../../model/service.js';
import { adsConfigSource, duration } from '../envoy.js';
import { BLACKHOLE_CLUSTER, INBOUND_PASSTHROUGH_CLUSTER, PASSTHROUGH_CLUSTER, subsetKey } from '../names.js';
import { applyConnectionPool, applyLoadBalancer, applyOutlierDetection, portTrafficPolicy, subsetTrafficPolicy } from '../cluster-policy.js';
import { clusterEndpoints, clusterPolicyLocalityLbEndpoints } from '../endpoints.js';
import { applyClusterLocalityLb, dnsLocalityFingerprint, effectiveLbSetting } from '../locality-lb.js';
import { concatResources, type NamedResource, type Watch } from '../generator.js';
import { proxyServiceInstances } from './instances.js';
import { dynamicDnsCluster, dynamicDnsViewKey } from './dynamic-dns.js';
import { applyUpstreamTls } from '../upstream-tls.js';
import { destinationRuleLabelsKey, objectId, sharedList } from '../view.js';

const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function isH2(port: ServicePort): boolean {
  return port.protocol === 'HTTP2' || port.protocol === 'GRPC' || port.protocol === 'GRPC-Web';
}

export function baseCluster(push: PushContext, name: string): Cluster {
  return create(ClusterSchema, { name, connectTimeout: duration(push.mesh.connectTimeoutSeconds), commonLbConfig: {} });
}

/** What gateways (router proxies) need differently; sidecars pass none. */
export interface OutboundClusterOptions {
  /** The cluster's name when not `outbound|PORT|SUBSET|HOST` (SNI-DNAT clusters of AUTO_PASSTHROUGH gateways). */
  name?: string;
  /** A router: it has no original destination, so Passthrough services get EDS (Istio's convertResolution). */
  router?: boolean;
  /** No upstream TLS (SNI-DNAT clusters forward the client's own TLS). */
  noTls?: boolean;
}

export function outboundCluster(
  push: PushContext,
  proxy: Proxy,
  svc: Service,
  port: ServicePort,
  subset: string,
  policy: net.TrafficPolicy | undefined,
  opts: OutboundClusterOptions = {},
): Cluster {
  const key = subsetKey('outbound', subset, svc.hostname, port.port);
  const name = opts.name ?? key;
  const c = baseCluster(push, name);
  const resolution = opts.router && svc.resolution === 'Passthrough' ? 'ClientSideLB' : svc.resolution;
  switch (resolution) {
    case 'ClientSideLB':
      c.clusterDiscoveryType = { case: 'type', value: Cluster_DiscoveryType.EDS };
      c.edsClusterConfig = create(Cluster_EdsClusterConfigSchema, { serviceName: name, edsConfig: adsConfigSource() });
      break;
    case 'DNSLB':
    case 'DNSRoundRobinLB': {
      c.clusterDiscoveryType = { case: 'type', value: svc.resolution === 'DNSLB' ? Cluster_DiscoveryType.STRICT_DNS : Cluster_DiscoveryType.LOGICAL_DNS };
      c.dnsLookupFamily = Cluster_DnsLookupFamily.V4_ONLY;
      const { endpoints } = clusterEndpoints(push, proxy, key);
      c.loadAssignment = create(ClusterLoadAssignmentSchema, { clusterName: name, endpoints: clusterPolicyLocalityLbEndpoints(push, proxy, svc, policy, endpoints) });
      break;
    }
    case 'Passthrough':
      c.clusterDiscoveryType = { case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST };
      c.lbPolicy = Cluster_LbPolicy.CLUSTER_PROVIDED;
      break;
  }
  let http = isH2(port)
    ? create(HttpProtocolOptionsSchema, { upstreamProtocolOptions: { case: 'explicitHttpConfig', value: { protocolConfig: { case: 'http2ProtocolOptions', value: {} } } } })
    : undefined;
  http = applyConnectionPool(c, policy?.connectionPool, http);
  if (http) c.typedExtensionProtocolOptions[HTTP_PROTOCOL_OPTIONS] = anyPack(HttpProtocolOptionsSchema, http);
  applyOutlierDetection(c, policy?.outlierDetection);
  if (resolution !== 'Passthrough') applyClusterLocalityLb(c, effectiveLbSetting(push.mesh, policy?.loadBalancer, svc), svc);
  if (resolution !== 'Passthrough') applyLoadBalancer(c, policy?.loadBalancer);
  if (!opts.noTls) applyUpstreamTls(push, c, svc, port, subset, policy?.tls);
  return c;
}

function passthroughCluster(push: PushContext, name: string, sourceAddress?: string): Cluster {
  const c = baseCluster(push, name);
  c.clusterDiscoveryType = { case: 'type', value: Cluster_DiscoveryType.ORIGINAL_DST };
  c.lbPolicy = Cluster_LbPolicy.CLUSTER_PROVIDED;
  if (sourceAddress) {
    // Inbound traffic leaves from 127.0.0.6 so iptables does not capture it again.
    c.upstreamBindConfig = create(BindConfigSchema, { sourceAddress: { address: sourceAddress, portSpecifier: { case: 'portValue', value: 0 } } });
  }
  return c;
}

/**
 * `inbound|PORT||` per port the proxy's services target. By default they keep the original
 * destination (PASSTHROUGH); with inboundTrafficPolicy LOCALHOST they send to 127.0.0.1.
 * Their `istio` metadata names the services, for telemetry.
 */
function inboundClusters(push: PushContext, proxy: Proxy): NamedResource[] {
  const scope = push.sidecarScope(proxy);
  if (scope.ingress.length) return sidecarIngressClusters(push, proxy).map(packCluster);
  const byPort = new Map<number, Service[]>();
  for (const inst of proxyServiceInstances(push, proxy)) {
    const list = byPort.get(inst.endpoint.endpointPort) ?? [];
    if (!list.includes(inst.service)) list.push(inst.service);
    byPort.set(inst.endpoint.endpointPort, list);
  }
  // What the clusters are made of, by value: workloads of one service share them, across pushes too.
  const key = [...byPort].map(([port, services]) => `${port}=${services.map((s) => `${s.hostname}/${s.name}/${s.namespace}`).sort().join(',')}`).join(';');
  return push.durable(`cds/inbound|${key}`, () => serviceInboundClusters(push, byPort).map(packCluster));
}

function serviceInboundClusters(push: PushContext, byPort: Map<number, Service[]>): Cluster[] {
  const out: Cluster[] = [];
  for (const [port, services] of byPort) {
    const name = subsetKey('inbound', '', '', port);
    let c: Cluster;
    if (push.mesh.inboundTrafficPolicy === 'LOCALHOST') {
      c = baseCluster(push, name);
      c.clusterDiscoveryType = { case: 'type', value: Cluster_DiscoveryType.STATIC };
      c.loadAssignment = create(ClusterLoadAssignmentSchema, {
        clusterName: name,
        endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: 'endpoint', value: { address: { address: { case: 'socketAddress', value: { address: '127.0.0.1', portSpecifier: { case: 'portValue', value: port } } } } } } }] }],
      });
    } else {
      c = passthroughCluster(push, name, '127.0.0.6');
      c.cleanupInterval = duration(60);
    }
    const svcs = [...services].sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
    c.metadata = create(MetadataSchema, {
      filterMetadata: { istio: { services: svcs.map((s) => ({ host: s.hostname, name: s.name, namespace: s.namespace })) } },
    });
    out.push(c);
  }
  return out;
}

/**
 * Clusters for a Sidecar's ingress listeners: to its defaultEndpoint (`127.0.0.1:P`, or
 * `0.0.0.0:P` meaning the pod IP), or keeping the original destination without one.
 */
function sidecarIngressClusters(push: PushContext, proxy: Proxy): Cluster[] {
  const scope = push.sidecarScope(proxy);
  const out: Cluster[] = [];
  for (const i of scope.ingress) {
    const port = i.port?.number;
    if (!port) continue;
    const name = subsetKey('inbound', '', '', port);
    const m = /^(.*):(\d+)$/.exec(i.defaultEndpoint ?? '');
    let address = '';
    if (m) {
      const host = m[1]!;
      if (host === '0.0.0.0') address = proxy.ipAddresses.find((ip) => !ip.includes(':')) ?? '127.0.0.1';
      else if (host === '127.0.0.1' || host === '[::1]') address = host.replace(/^\[|\]$/g, '');
    }
    let c: Cluster;
    if (address && m) {
      c = baseCluster(push, name);
      c.clusterDiscoveryType = { case: 'type', value: Cluster_DiscoveryType.STATIC };
      c.loadAssignment = create(ClusterLoadAssignmentSchema, {
        clusterName: name,
        endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: 'endpoint', value: { address: { address: { case: 'socketAddress', value: { address, portSpecifier: { case: 'portValue', value: Number(m[2]) } } } } } } }] }],
      });
      if (address !== '127.0.0.1' && address !== '::1') c.upstreamBindConfig = create(BindConfigSchema, { sourceAddress: { address: '127.0.0.6', portSpecifier: { case: 'portValue', value: 0 } } });
    } else {
      c = passthroughCluster(push, name, '127.0.0.6');
      c.cleanupInterval = duration(60);
    }
    out.push(c);
  }
  return out;
}

function packCluster(c: Cluster): NamedResource {
  return { name: c.name, resource: anyPack(ClusterSchema, c) };
}

/**
 * A service's outbound clusters depend on the service and the DestinationRule that applies, not
 * on which proxy asks: they are built once per push and shared by every view that sees them.
 */
function serviceClusters(push: PushContext, proxy: Proxy, svc: Service): NamedResource[] {
  const rule = push.destinationRuleFor(proxy, svc);
  // DNS clusters carry their endpoints, whose priorities may depend on the proxy's locality.
  const dns = svc.resolution === 'DNSLB' || svc.resolution === 'DNSRoundRobinLB' ? dnsLocalityFingerprint(push, proxy) : '';
  return push.memo(`cds/service|${objectId(svc)}|${objectId(rule)}|${dns}`, () => {
    const dr = rule?.resource.spec;
    const out: Cluster[] = [];
    // ExternalName aliases have no clusters: routes to them go to the service they name.
    if (svc.resolution === 'Alias') return [];
    for (const port of svc.ports) {
      if (port.protocol === 'UDP') continue;
      const policy = portTrafficPolicy(dr?.trafficPolicy, port);
      out.push(outboundCluster(push, proxy, svc, port, '', policy));
      for (const subset of dr?.subsets ?? []) {
        if (!subset.name) continue;
        out.push(outboundCluster(push, proxy, svc, port, subset.name, subsetTrafficPolicy(policy, subset.trafficPolicy, port)));
      }
    }
    return out.map(packCluster);
  });
}

export function sidecarClusters(push: PushContext, proxy: Proxy, watch: Watch): NamedResource[] {
  const outbound = push.memo(`cds/outbound|${push.sidecarScopeKey(proxy)}|${dnsLocalityFingerprint(push, proxy)}|${destinationRuleLabelsKey(push, proxy)}`, () =>
    sharedList(push, 'cds/outbound', push.servicesFor(proxy).flatMap((svc) => serviceClusters(push, proxy, svc))),
  );
  const fixed = push.memo('cds/fixed', () => {
    const blackhole = baseCluster(push, BLACKHOLE_CLUSTER);
    blackhole.clusterDiscoveryType = { case: 'type', value: Cluster_DiscoveryType.STATIC };
    return [blackhole, passthroughCluster(push, PASSTHROUGH_CLUSTER), passthroughCluster(push, INBOUND_PASSTHROUGH_CLUSTER, '127.0.0.6')].map(packCluster);
  });
  const dfpKey = dynamicDnsViewKey(push, proxy);
  const dynamicDns = dfpKey ? push.memo(`cds/${dfpKey}`, () => [packCluster(dynamicDnsCluster(push, proxy))]) : [];
  const all = concatResources(outbound, inboundClusters(push, proxy), fixed, dynamicDns);
  const wanted = watch.wildcard ? undefined : new Set(watch.names);
  return wanted ? all.filter((c) => wanted.has(c.name)) : all;
}
