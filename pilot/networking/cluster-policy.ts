// DestinationRule traffic policy → Envoy cluster settings, shared by sidecar and gRPC clusters.
import { create } from '@bufbuild/protobuf';
import {
  Cluster_LbPolicy,
  Cluster_MaglevLbConfigSchema,
  Cluster_RingHashLbConfigSchema,
  type Cluster,
} from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { CircuitBreakersSchema } from '../../gen/envoy/config/cluster/v3/circuit_breaker_pb.js';
import type * as net from '../config/schema/networking.js';
import type { ServicePort } from '../model/service.js';

/** The policy that applies to a port: a port-level setting replaces the top-level one field group by field group. */
export function portTrafficPolicy(policy: net.TrafficPolicy | undefined, port: ServicePort | undefined): net.TrafficPolicy | undefined {
  if (!policy || !port) return policy;
  const portLevel = policy.portLevelSettings?.find((p) => p.port?.number === port.port);
  if (!portLevel) return policy;
  const merged: net.TrafficPolicy = { ...policy };
  if (portLevel.loadBalancer) merged.loadBalancer = portLevel.loadBalancer;
  if (portLevel.connectionPool) merged.connectionPool = portLevel.connectionPool;
  if (portLevel.outlierDetection) merged.outlierDetection = portLevel.outlierDetection;
  if (portLevel.tls) merged.tls = portLevel.tls;
  return merged;
}

/** A subset's policy overrides the (port-resolved) rule-level policy, again per field group. */
export function subsetTrafficPolicy(
  base: net.TrafficPolicy | undefined,
  subset: net.TrafficPolicy | undefined,
  port: ServicePort | undefined,
): net.TrafficPolicy | undefined {
  if (!subset) return base;
  const sub = portTrafficPolicy(subset, port)!;
  if (!base) return sub;
  return {
    ...base,
    loadBalancer: sub.loadBalancer ?? base.loadBalancer,
    connectionPool: sub.connectionPool ?? base.connectionPool,
    outlierDetection: sub.outlierDetection ?? base.outlierDetection,
    tls: sub.tls ?? base.tls,
  };
}

export function applyLoadBalancer(cluster: Cluster, lb: net.LoadBalancerSettings | undefined): void {
  if (!lb) return;
  if (lb.consistentHash) {
    const ring = lb.consistentHash;
    if (ring.maglev) {
      cluster.lbPolicy = Cluster_LbPolicy.MAGLEV;
      if (ring.maglev.tableSize) {
        cluster.lbConfig = { case: 'maglevLbConfig', value: create(Cluster_MaglevLbConfigSchema, { tableSize: BigInt(ring.maglev.tableSize) }) };
      }
    } else {
      cluster.lbPolicy = Cluster_LbPolicy.RING_HASH;
      const min = ring.ringHash?.minimumRingSize ?? ring.minimumRingSize ?? 1024;
      cluster.lbConfig = {
        case: 'ringHashLbConfig',
        value: create(Cluster_RingHashLbConfigSchema, { minimumRingSize: BigInt(min) }),
      };
    }
    return;
  }
  switch (lb.simple) {
    case 'LEAST_CONN':
    case 'LEAST_REQUEST':
      cluster.lbPolicy = Cluster_LbPolicy.LEAST_REQUEST;
      break;
    case 'RANDOM':
      cluster.lbPolicy = Cluster_LbPolicy.RANDOM;
      break;
    case 'PASSTHROUGH':
      cluster.lbPolicy = Cluster_LbPolicy.CLUSTER_PROVIDED;
      break;
    default:
      // ROUND_ROBIN / UNSPECIFIED: Envoy's and gRPC's default.
      break;
  }
}

/** gRPC honours only max_requests (gRFC A32). */
export function applyGrpcCircuitBreakers(cluster: Cluster, pool: net.TrafficPolicy['connectionPool']): void {
  const max = pool?.http?.http2MaxRequests;
  if (!max || max <= 0) return;
  cluster.circuitBreakers = create(CircuitBreakersSchema, { thresholds: [{ maxRequests: max }] });
}
