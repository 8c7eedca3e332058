// DestinationRule traffic policy → Envoy cluster settings, shared by sidecar and gRPC clusters.
import { create } from '@bufbuild/protobuf';
import {
  Cluster_CommonLbConfigSchema,
  Cluster_LbPolicy,
  Cluster_LeastRequestLbConfigSchema,
  Cluster_MaglevLbConfigSchema,
  Cluster_RingHashLbConfigSchema,
  Cluster_RoundRobinLbConfigSchema,
  Cluster_SlowStartConfigSchema,
  type Cluster_SlowStartConfig,
  type Cluster,
} from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import { CircuitBreakers_ThresholdsSchema, CircuitBreakersSchema } from '../../gen/envoy/config/cluster/v3/circuit_breaker_pb.js';
import { OutlierDetectionSchema } from '../../gen/envoy/config/cluster/v3/outlier_detection_pb.js';
import { HttpProtocolOptionsSchema as CoreHttpProtocolOptionsSchema } from '../../gen/envoy/config/core/v3/protocol_pb.js';
import { HttpProtocolOptionsSchema, type HttpProtocolOptions } from '../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';
import { RuntimeDoubleSchema } from '../../gen/envoy/config/core/v3/base_pb.js';
import { PercentSchema } from '../../gen/envoy/type/v3/percent_pb.js';
import { duration } from './envoy.js';
import type * as net from '../config/schema/networking.js';
type TrafficPolicy = net.TrafficPolicy;
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

/** Istio's ApplyRingHashLoadBalancer: maglev, ring hash, or the deprecated `minimumRingSize` (default 1024). */
function applyConsistentHash(cluster: Cluster, ring: NonNullable<net.LoadBalancerSettings['consistentHash']>): void {
  if (ring.maglev) {
    cluster.lbPolicy = Cluster_LbPolicy.MAGLEV;
    if (ring.maglev.tableSize) {
      cluster.lbConfig = { case: 'maglevLbConfig', value: create(Cluster_MaglevLbConfigSchema, { tableSize: BigInt(ring.maglev.tableSize) }) };
    }
  } else if (ring.ringHash) {
    cluster.lbPolicy = Cluster_LbPolicy.RING_HASH;
    // Only an explicit size is sent: Envoy's and gRPC's default is 1024 as well.
    if (ring.ringHash.minimumRingSize) {
      cluster.lbConfig = { case: 'ringHashLbConfig', value: create(Cluster_RingHashLbConfigSchema, { minimumRingSize: BigInt(ring.ringHash.minimumRingSize) }) };
    }
  } else {
    cluster.lbPolicy = Cluster_LbPolicy.RING_HASH;
    cluster.lbConfig = {
      case: 'ringHashLbConfig',
      value: create(Cluster_RingHashLbConfigSchema, { minimumRingSize: BigInt(ring.minimumRingSize || 1024) }),
    };
  }
}

/**
 * Envoy's slow start from `warmup` (aggression 1 = linear ramp, minimum weight 10%, Envoy's
 * defaults, when unset; the runtime key is a fixed placeholder as istiod sends it) or the
 * deprecated `warmupDurationSecs` (the window alone).
 */
function slowStart(lb: net.LoadBalancerSettings): Cluster_SlowStartConfig | undefined {
  const w = lb.warmup;
  if (w) {
    return create(Cluster_SlowStartConfigSchema, {
      slowStartWindow: w.duration ? duration(w.duration.seconds) : undefined,
      aggression: create(RuntimeDoubleSchema, { defaultValue: w.aggression ?? 1, runtimeKey: '(' }),
      minWeightPercent: create(PercentSchema, { value: w.minimumPercent ?? 10 }),
    });
  }
  if (lb.warmupDurationSecs) return create(Cluster_SlowStartConfigSchema, { slowStartWindow: duration(lb.warmupDurationSecs.seconds) });
  return undefined;
}

function roundRobin(cluster: Cluster, lb: net.LoadBalancerSettings): void {
  const start = slowStart(lb);
  if (!start) return;
  cluster.lbPolicy = Cluster_LbPolicy.ROUND_ROBIN;
  cluster.lbConfig = { case: 'roundRobinLbConfig', value: create(Cluster_RoundRobinLbConfigSchema, { slowStartConfig: start }) };
}

function leastRequest(cluster: Cluster, lb: net.LoadBalancerSettings): void {
  cluster.lbPolicy = Cluster_LbPolicy.LEAST_REQUEST;
  const start = slowStart(lb);
  if (start) cluster.lbConfig = { case: 'leastRequestLbConfig', value: create(Cluster_LeastRequestLbConfigSchema, { slowStartConfig: start }) };
}

/** Istio's applyLoadBalancer for sidecar and gateway clusters: LEAST_REQUEST unless the rule names another algorithm. */
export function applyLoadBalancer(cluster: Cluster, lb: net.LoadBalancerSettings | undefined): void {
  switch (lb?.simple) {
    case 'RANDOM':
      cluster.lbPolicy = Cluster_LbPolicy.RANDOM;
      break;
    case 'PASSTHROUGH':
      cluster.lbPolicy = Cluster_LbPolicy.CLUSTER_PROVIDED;
      break;
    case 'ROUND_ROBIN':
      roundRobin(cluster, lb);
      break;
    default:
      // LEAST_CONN, LEAST_REQUEST and unspecified (a consistent hash included, which replaces the
      // policy below): istiod's default algorithm is LEAST_REQUEST.
      leastRequest(cluster, lb ?? {});
      break;
  }
  if (lb?.consistentHash) applyConsistentHash(cluster, lb.consistentHash);
}

/**
 * Load balancing for proxyless gRPC clusters, as Istio's grpcgen applies it: a consistent hash,
 * LEAST_REQUEST, or nothing (round robin). RANDOM, PASSTHROUGH and the deprecated LEAST_CONN are
 * left out (istiod logs "cannot apply LbPolicy"): a gRPC client rejects a cluster whose policy it
 * does not implement, and every call through it would fail.
 */
export function applyGrpcLoadBalancer(cluster: Cluster, lb: net.LoadBalancerSettings | undefined): void {
  if (!lb) return;
  if (lb.consistentHash) return applyConsistentHash(cluster, lb.consistentHash);
  if (lb.simple === 'LEAST_REQUEST') cluster.lbPolicy = Cluster_LbPolicy.LEAST_REQUEST;
}

/** gRPC honours only max_requests (gRFC A32). */
export function applyGrpcCircuitBreakers(cluster: Cluster, pool: net.TrafficPolicy['connectionPool']): void {
  const max = pool?.http?.http2MaxRequests;
  if (!max || max <= 0) return;
  cluster.circuitBreakers = create(CircuitBreakersSchema, { thresholds: [{ maxRequests: max }] });
}

const MAX_UINT32 = 4294967295;

/**
 * Connection pool → circuit breakers and HTTP protocol options, outlier detection → Envoy's,
 * as Istio applies them to sidecar clusters. Limits Istio leaves unset stay at the maximum.
 */
export function applyConnectionPool(cluster: Cluster, pool: TrafficPolicy['connectionPool'], http: HttpProtocolOptions | undefined): HttpProtocolOptions | undefined {
  const threshold = create(CircuitBreakers_ThresholdsSchema, {
    maxConnections: MAX_UINT32,
    maxPendingRequests: MAX_UINT32,
    maxRequests: MAX_UINT32,
    maxRetries: MAX_UINT32,
    trackRemaining: true,
  });
  cluster.circuitBreakers = create(CircuitBreakersSchema, { thresholds: [threshold] });
  if (!pool) return http;
  const h = pool.http;
  if (h?.http2MaxRequests && h.http2MaxRequests > 0) threshold.maxRequests = h.http2MaxRequests;
  if (h?.http1MaxPendingRequests && h.http1MaxPendingRequests > 0) threshold.maxPendingRequests = h.http1MaxPendingRequests;
  if (h?.maxRetries && h.maxRetries > 0) threshold.maxRetries = h.maxRetries;
  const t = pool.tcp;
  if (t?.connectTimeout) cluster.connectTimeout = duration(t.connectTimeout.seconds);
  if (t?.maxConnections && t.maxConnections > 0) threshold.maxConnections = t.maxConnections;
  const idle = h?.idleTimeout ?? t?.idleTimeout;
  const perConnection = h?.maxRequestsPerConnection ?? 0;
  const maxDuration = t?.maxConnectionDuration;
  if (!idle && perConnection <= 0 && !maxDuration) return http;
  // Envoy requires an upstream protocol choice; without HTTP/2, it is explicit HTTP/1.1.
  const options = http ?? create(HttpProtocolOptionsSchema, { upstreamProtocolOptions: { case: 'explicitHttpConfig', value: { protocolConfig: { case: 'httpProtocolOptions', value: {} } } } });
  const common = (options.commonHttpProtocolOptions ??= create(CoreHttpProtocolOptionsSchema, {}));
  if (idle) common.idleTimeout = duration(idle.seconds);
  if (perConnection > 0) common.maxRequestsPerConnection = perConnection;
  if (maxDuration) common.maxConnectionDuration = duration(maxDuration.seconds);
  return options;
}

export function applyOutlierDetection(cluster: Cluster, outlier: TrafficPolicy['outlierDetection']): void {
  if (!outlier) return;
  const out = create(OutlierDetectionSchema, { enforcingSuccessRate: 0 });
  const fiveXx = outlier.consecutive5xxErrors ?? outlier.consecutiveErrors;
  if (fiveXx !== undefined) {
    out.consecutive5xx = fiveXx;
    out.enforcingConsecutive5xx = fiveXx > 0 ? 100 : 0;
  }
  if (outlier.consecutiveGatewayErrors !== undefined) {
    out.consecutiveGatewayFailure = outlier.consecutiveGatewayErrors;
    out.enforcingConsecutiveGatewayFailure = outlier.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  if (outlier.interval) out.interval = duration(outlier.interval.seconds);
  if (outlier.baseEjectionTime) out.baseEjectionTime = duration(outlier.baseEjectionTime.seconds);
  if (outlier.maxEjectionPercent && outlier.maxEjectionPercent > 0) out.maxEjectionPercent = outlier.maxEjectionPercent;
  if (outlier.splitExternalLocalOriginErrors) {
    out.splitExternalLocalOriginErrors = true;
    if ((outlier.consecutiveLocalOriginFailures ?? 0) > 0) {
      out.consecutiveLocalOriginFailure = outlier.consecutiveLocalOriginFailures;
      out.enforcingConsecutiveLocalOriginFailure = 100;
    }
    out.enforcingLocalOriginSuccessRate = 0;
  }
  cluster.outlierDetection = out;
  const minHealth = outlier.minHealthPercent ?? 0;
  if (minHealth >= 0) {
    cluster.commonLbConfig ??= create(Cluster_CommonLbConfigSchema, {});
    cluster.commonLbConfig.healthyPanicThreshold = create(PercentSchema, { value: minHealth });
  }
}
