// Prometheus metrics with Istio's names and labels, so existing dashboards keep working.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Istio's short type label: cds, eds, lds, rds, sds, ... */
export function metricType(typeUrl: string): string {
  const map: Record<string, string> = {
    'type.googleapis.com/envoy.config.cluster.v3.Cluster': 'cds',
    'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment': 'eds',
    'type.googleapis.com/envoy.config.listener.v3.Listener': 'lds',
    'type.googleapis.com/envoy.config.route.v3.RouteConfiguration': 'rds',
    'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret': 'sds',
  };
  return map[typeUrl] ?? typeUrl;
}

export class XdsMetrics {
  readonly connected: Gauge<'version'>;
  readonly pushes: Counter<'type'>;
  readonly pushTime: Histogram<'type'>;
  readonly convergence: Histogram;
  readonly rejects: Counter<'type'>;
  readonly configSize: Histogram<'type'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.connected = new Gauge({ name: 'pilot_xds', help: 'Number of endpoints connected to this pilot using XDS.', labelNames: ['version'], registers });
    this.pushes = new Counter({ name: 'pilot_xds_pushes', help: 'Pilot build and send errors for lds, rds, cds and eds.', labelNames: ['type'], registers });
    this.pushTime = new Histogram({
      name: 'pilot_xds_push_time',
      help: 'Total time in seconds Pilot takes to push lds, rds, cds and eds.',
      labelNames: ['type'],
      buckets: [0.01, 0.1, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.convergence = new Histogram({
      name: 'pilot_proxy_convergence_time',
      help: 'Delay in seconds between config change and a proxy receiving all required configuration.',
      buckets: [0.1, 0.5, 1, 3, 5, 10, 20, 30],
      registers,
    });
    this.rejects = new Counter({ name: 'pilot_total_xds_rejects', help: 'Total number of XDS responses from pilot rejected by proxy.', labelNames: ['type'], registers });
    this.configSize = new Histogram({
      name: 'pilot_xds_config_size_bytes',
      help: 'Distribution of configuration sizes pushed to clients',
      labelNames: ['type'],
      buckets: [1, 10000, 1000000, 4000000, 10000000, 40000000],
      registers,
    });
  }
}
