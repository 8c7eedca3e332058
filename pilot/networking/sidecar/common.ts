// Pieces shared by the sidecar's listeners.
import { create } from '@bufbuild/protobuf';
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ListenerFilterSchema, type ListenerFilter } from '../../../gen/envoy/config/listener/v3/listener_components_pb.js';
import { CidrRangeSchema, type CidrRange } from '../../../gen/envoy/config/core/v3/address_pb.js';
import type { HttpFilter } from '../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js';
import { RouterSchema } from '../../../gen/envoy/extensions/filters/http/router/v3/router_pb.js';
import { httpFilter } from '../envoy.js';
import { HTTPFaultSchema } from '../../../gen/envoy/extensions/filters/http/fault/v3/fault_pb.js';
import { CorsSchema } from '../../../gen/envoy/extensions/filters/http/cors/v3/cors_pb.js';
import { TlsInspectorSchema } from '../../../gen/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js';
import { HttpInspectorSchema } from '../../../gen/envoy/extensions/filters/listener/http_inspector/v3/http_inspector_pb.js';
import { OriginalDstSchema } from '../../../gen/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js';

export const WILDCARD = '0.0.0.0';

/** The ALPNs the HTTP inspector reports for plaintext HTTP/1.1 and HTTP/2. */
export const PLAINTEXT_HTTP_ALPNS = ['http/1.1', 'h2c'];

export function socketAddress(address: string, port: number) {
  return { address: { case: 'socketAddress' as const, value: { address, portSpecifier: { case: 'portValue' as const, value: port } } } };
}

/**
 * The HTTP filter chain of sidecar and gateway connection managers: `leading` first
 * (authorization runs before anything acts on a request), `extra` just before the router
 * (last, as Envoy requires).
 */
export function httpFilters(extra: readonly HttpFilter[] = [], leading: readonly HttpFilter[] = []): HttpFilter[] {
  return [
    ...leading,
    httpFilter('envoy.filters.http.fault', anyPack(HTTPFaultSchema, create(HTTPFaultSchema))),
    httpFilter('envoy.filters.http.cors', anyPack(CorsSchema, create(CorsSchema))),
    ...extra,
    httpFilter('envoy.filters.http.router', anyPack(RouterSchema, create(RouterSchema))),
  ];
}

export function listenerFilter(kind: 'tls_inspector' | 'http_inspector' | 'original_dst'): ListenerFilter {
  const config =
    kind === 'tls_inspector'
      ? anyPack(TlsInspectorSchema, create(TlsInspectorSchema))
      : kind === 'http_inspector'
        ? anyPack(HttpInspectorSchema, create(HttpInspectorSchema))
        : anyPack(OriginalDstSchema, create(OriginalDstSchema));
  return create(ListenerFilterSchema, { name: `envoy.filters.listener.${kind}`, configType: { case: 'typedConfig', value: config } });
}

/** "10.0.0.0/8" or a bare address (as a /32 or /128). */
export function cidrRange(text: string): CidrRange {
  const [address, len] = text.split('/');
  const bits = len !== undefined ? Number(len) : address!.includes(':') ? 128 : 32;
  return create(CidrRangeSchema, { addressPrefix: address!, prefixLen: bits });
}
