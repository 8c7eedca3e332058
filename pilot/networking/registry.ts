// A protobuf registry of every generated Envoy type, to pack/unpack and print `Any` values.
import { createRegistry, type DescFile, type Registry } from '@bufbuild/protobuf';
import * as listener from '../../gen/envoy/config/listener/v3/listener_pb.js';
import * as route from '../../gen/envoy/config/route/v3/route_pb.js';
import * as cluster from '../../gen/envoy/config/cluster/v3/cluster_pb.js';
import * as endpoint from '../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import * as hcm from '../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import * as tcpProxy from '../../gen/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js';
import * as router from '../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import * as fault from '../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import * as cors from '../../gen/envoy/extensions/filters/http/cors/v3/cors_pb.js';
import * as originalDst from '../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js';
import * as previousHosts from '../../gen/envoy/extensions/retry/host/previous_hosts/v3/previous_hosts_pb.js';
import * as previousPriorities from '../../gen/envoy/extensions/retry/priority/previous_priorities/v3/previous_priorities_config_pb.js';
import * as httpOptions from '../../gen/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js';

let cached: Registry | undefined;

/** Every message type Isthmus emits inside an `Any`, with everything those files import. */
export function envoyRegistry(): Registry {
  if (cached) return cached;
  const seen = new Set<DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f)) return;
    seen.add(f);
    f.dependencies.forEach(visit);
  };
  const modules = [listener, route, cluster, endpoint, hcm, tcpProxy, router, fault, cors, originalDst, previousHosts, previousPriorities, httpOptions];
  for (const m of modules) {
    for (const [k, v] of Object.entries(m)) if (k.startsWith('file_')) visit(v as DescFile);
  }
  cached = createRegistry(...seen);
  return cached;
}
