// Which generators serve a proxy: proxyless gRPC clients by their GENERATOR metadata, gateways
// (router proxies) by their node type, Envoy sidecars otherwise.
import type { Proxy } from '../model/proxy.js';
import { gatewayGenerators } from './gateway/index.js';
import type { GeneratorSet } from './generator.js';
import { grpcGenerators } from './grpc/index.js';
import { sidecarGenerators } from './sidecar/index.js';

export function generatorsFor(proxy: Proxy): GeneratorSet {
  if (proxy.generator === 'grpc') return grpcGenerators;
  if (proxy.type === 'router') return gatewayGenerators;
  return sidecarGenerators;
}
