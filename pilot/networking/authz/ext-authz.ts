// CUSTOM authorization: MeshConfig.extensionProviders (envoyExtAuthzHttp / envoyExtAuthzGrpc) → the
// Envoy ext_authz filters the builder places after its shadow RBAC filter. Providers are read from
// proto-JSON, checked as istiod's agent validation checks them (ext-authz-validation.ts), then built
// with the builder's own checks. Error texts follow Istio (pilot/pkg/security/authz/builder/extauthz.go,
// model.LookupCluster) so that logs and the "deny due to bad CUSTOM action" fallback match istiod.

import { clone, create, fromJson, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import { DurationSchema, type Duration } from '@bufbuild/protobuf/wkt';
import { ApiVersion } from '../../../gen/envoy/config/core/v3/config_source_pb.js';
import type { HeaderValueSchema } from '../../../gen/envoy/config/core/v3/base_pb.js';
import { type GrpcService, GrpcServiceSchema } from '../../../gen/envoy/config/core/v3/grpc_service_pb.js';
import {
  AuthorizationResponseSchema,
  type BufferSettings,
  BufferSettingsSchema,
  type ExtAuthz as HttpExtAuthz,
  ExtAuthzSchema as HttpExtAuthzSchema,
  HttpServiceSchema,
} from '../../../gen/envoy/extensions/filters/http/ext_authz/v3/ext_authz_pb.js';
import {
  type ExtAuthz as TcpExtAuthz,
  ExtAuthzSchema as TcpExtAuthzSchema,
} from '../../../gen/envoy/extensions/filters/network/ext_authz/v3/ext_authz_pb.js';
import { type MetadataMatcher, MetadataMatcherSchema } from '../../../gen/envoy/type/matcher/v3/metadata_pb.js';
import { type ListStringMatcher, ListStringMatcherSchema, type StringMatcher, type StringMatcherSchema } from '../../../gen/envoy/type/matcher/v3/string_pb.js';
import { type HttpStatus, HttpStatusSchema, type StatusCode } from '../../../gen/envoy/type/v3/http_status_pb.js';
import { providerNameError, STATUS_NAMES, statusCodes, urlParseError, validateGrpcProvider, validateHttpProvider } from './ext-authz-validation.js';
import { errorText, goCompare, type GoError, goList, goQuote, MultiError, multiAppend, parseInt32, prefixError } from './go-errors.js';

/** One mesh extension provider, resolved. `error` set when the provider is invalid (its filters are then unusable). */
export interface ResolvedExtAuthz {
  http?: HttpExtAuthz;
  tcp?: TcpExtAuthz;
  error?: string;
}

/** Which namespaces hold a service of this exact hostname (the registry; empty when none). */
export type ServiceNamespaces = (hostname: string) => readonly string[];

/** Filter names of the RBAC filters whose dynamic metadata the ext_authz filters look at. */
export const HTTP_RBAC_FILTER = 'envoy.filters.http.rbac';
export const TCP_RBAC_FILTER = 'envoy.filters.network.rbac';

/** Policy names of CUSTOM rules start with this (then `-<provider>-...`). */
export const EXT_AUTHZ_MATCH_PREFIX = 'istio-ext-authz';
/** The RBAC filter stores the matched shadow policy under `<shadow stat prefix>shadow_effective_policy_id`. */
const SHADOW_EFFECTIVE_POLICY_KEY = 'istio_ext_authz_shadow_effective_policy_id';
const DEFAULT_TIMEOUT_SECONDS = 600n;

// ---------------------------------------------------------------------------------------------
// Provider configs read from proto-JSON.

interface RequestBody {
  maxRequestBytes: number;
  allowPartialMessage: boolean;
  packAsBytes: boolean;
}
interface GrpcProvider {
  service: string;
  port: number;
  timeout?: Duration;
  failOpen: boolean;
  statusOnError: string;
  includeRequestBody?: RequestBody;
}
interface HttpProvider extends GrpcProvider {
  pathPrefix: string;
  includeHeadersInCheck: string[];
  includeRequestHeadersInCheck: string[];
  includeAdditionalHeadersInCheck: [string, string][];
  headersToUpstreamOnAllow: string[];
  headersToDownstreamOnDeny: string[];
  headersToDownstreamOnAllow: string[];
}

/** A value istiod could not even unmarshal (it would refuse the whole mesh config). */
class JsonShapeError extends Error {}

type Json = Record<string, unknown>;
/** Proto-JSON accepts the lowerCamel JSON name and the original field name; null means unset. */
function get(obj: Json, jsonName: string): unknown {
  let v = obj[jsonName];
  if (v === undefined || v === null) v = obj[jsonName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
  return v === null ? undefined : v;
}
function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function readString(obj: Json, key: string): string {
  const v = get(obj, key);
  if (v === undefined) return '';
  if (typeof v !== 'string') throw new JsonShapeError(`${key}: not a string: ${JSON.stringify(v)}`);
  return v;
}
function readBool(obj: Json, key: string): boolean {
  const v = get(obj, key);
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new JsonShapeError(`${key}: not a boolean: ${JSON.stringify(v)}`);
  return v;
}
function readUint32(obj: Json, key: string): number {
  const v = get(obj, key);
  if (v === undefined) return 0;
  const n = typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new JsonShapeError(`${key}: not a uint32: ${JSON.stringify(v)}`);
  return n;
}
function readStrings(obj: Json, key: string): string[] {
  const v = get(obj, key);
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new JsonShapeError(`${key}: not a list of strings`);
  return [...(v as string[])];
}
function readStringMap(obj: Json, key: string): [string, string][] {
  const v = get(obj, key);
  if (v === undefined) return [];
  if (!isObject(v) || !Object.values(v).every((s) => typeof s === 'string')) throw new JsonShapeError(`${key}: not a map of strings`);
  return Object.entries(v as Record<string, string>);
}
function readDuration(obj: Json, key: string): Duration | undefined {
  const v = get(obj, key);
  if (v === undefined) return undefined;
  try {
    return fromJson(DurationSchema, v as JsonValue);
  } catch (e) {
    throw new JsonShapeError(`${key}: ${(e as Error).message}`);
  }
}
function readObject(obj: Json, key: string): Json | undefined {
  const v = get(obj, key);
  if (v === undefined) return undefined;
  if (!isObject(v)) throw new JsonShapeError(`${key}: not an object`);
  return v;
}

function readGrpcProvider(obj: Json): GrpcProvider {
  const body = readObject(obj, 'includeRequestBodyInCheck');
  return {
    service: readString(obj, 'service'),
    port: readUint32(obj, 'port'),
    timeout: readDuration(obj, 'timeout'),
    failOpen: readBool(obj, 'failOpen'),
    statusOnError: readString(obj, 'statusOnError'),
    includeRequestBody: body && {
      maxRequestBytes: readUint32(body, 'maxRequestBytes'),
      allowPartialMessage: readBool(body, 'allowPartialMessage'),
      packAsBytes: readBool(body, 'packAsBytes'),
    },
  };
}
function readHttpProvider(obj: Json): HttpProvider {
  return {
    ...readGrpcProvider(obj),
    pathPrefix: readString(obj, 'pathPrefix'),
    includeHeadersInCheck: readStrings(obj, 'includeHeadersInCheck'),
    includeRequestHeadersInCheck: readStrings(obj, 'includeRequestHeadersInCheck'),
    includeAdditionalHeadersInCheck: readStringMap(obj, 'includeAdditionalHeadersInCheck'),
    headersToUpstreamOnAllow: readStrings(obj, 'headersToUpstreamOnAllow'),
    headersToDownstreamOnDeny: readStrings(obj, 'headersToDownstreamOnDeny'),
    headersToDownstreamOnAllow: readStrings(obj, 'headersToDownstreamOnAllow'),
  };
}

// ---------------------------------------------------------------------------------------------
// Building.

/**
 * model.LookupCluster: the provider's `[<namespace>/]<hostname>` → the service hostname and its
 * outbound cluster. Without a namespace the hostname must be unique across namespaces.
 */
export function lookupCluster(service: string, port: number, services: ServiceNamespaces): { hostname: string; cluster: string } | { error: string } {
  if (service === '') return { error: 'service must not be empty' };
  const found = (hostname: string) => ({ hostname, cluster: `outbound|${port}||${hostname}` });
  const parts = service.split('/');
  if (parts.length === 2) {
    const [namespace, name] = parts as [string, string];
    if (services(name).includes(namespace)) return found(name);
  } else {
    const namespaces = [...new Set(services(service))];
    if (namespaces.length === 1) return found(service);
    if (namespaces.length > 1) {
      return { error: `found ${service} in multiple namespaces ${goList(namespaces)}, specify the namespace explicitly in the format of <Namespace>/<Hostname>` };
    }
  }
  return { error: `could not find service ${service} in Istio service registry` };
}

function checkPort(port: number): { port: number; error?: string } {
  return port >= 1 && port <= 65535 ? { port } : { port: 0, error: `port must be in the range [1, 65535], found: ${port}` };
}

function parseStatusOnError(status: string): { status?: HttpStatus; error?: string } {
  if (status === '') return {};
  const code = parseInt32(status);
  if (typeof code === 'string') return { error: `invalid statusOnError ${goQuote(status)}: ${code}` };
  if (!STATUS_NAMES.has(code)) return { error: `unsupported statusOnError ${status}, supported values: ${goList(statusCodes())}` };
  return { status: create(HttpStatusSchema, { code: code as StatusCode }) };
}

function timeoutOrDefault(t: Duration | undefined): Duration {
  return t ?? create(DurationSchema, { seconds: DEFAULT_TIMEOUT_SECONDS });
}

function requestBody(body: RequestBody | undefined): BufferSettings | undefined {
  return body && create(BufferSettingsSchema, body);
}

/** Header names → case-insensitive matchers: `*x` a suffix, `x*` a prefix, anything else exact. */
function headerMatchers(headers: readonly string[]): ListStringMatcher | undefined {
  if (headers.length === 0) return undefined;
  const patterns = headers.map((h): MessageInitShape<typeof StringMatcherSchema> => {
    let matchPattern: StringMatcher['matchPattern'];
    if (h.startsWith('*')) matchPattern = { case: 'suffix', value: h.slice(1) };
    else if (h.endsWith('*')) matchPattern = { case: 'prefix', value: h.slice(0, -1) };
    else matchPattern = { case: 'exact', value: h };
    return { ignoreCase: true, matchPattern };
  });
  return create(ListStringMatcherSchema, { patterns });
}

function filterMatcher(filterName: string, prefix: string): MetadataMatcher {
  return create(MetadataMatcherSchema, {
    filter: filterName,
    path: [{ segment: { case: 'key', value: SHADOW_EFFECTIVE_POLICY_KEY } }],
    value: { matchPattern: { case: 'stringMatch', value: { matchPattern: { case: 'prefix', value: prefix } } } },
  });
}

/** generateFilterMatcherForProvider(filterName, provider): the filter_enabled_metadata matcher on the RBAC filter's shadow-effective-policy metadata. */
export function filterEnabledMetadata(filterName: string, provider: string): MetadataMatcher {
  return filterMatcher(filterName, `${EXT_AUTHZ_MATCH_PREFIX}-${provider}`);
}

type Built = { http?: HttpExtAuthz; tcp?: TcpExtAuthz };

/** What both provider kinds check first: the port, the service's cluster and statusOnError. */
function commonChecks(cfg: GrpcProvider, services: ServiceNamespaces) {
  let errs: MultiError | undefined;
  const port = checkPort(cfg.port);
  if (port.error !== undefined) errs = multiAppend(errs, port.error);
  const target = lookupCluster(cfg.service, port.port, services);
  if ('error' in target) errs = multiAppend(errs, target.error);
  const status = parseStatusOnError(cfg.statusOnError);
  if (status.error !== undefined) errs = multiAppend(errs, status.error);
  return { errs, target, status };
}

function buildHttp(cfg: HttpProvider, services: ServiceNamespaces): Built | GoError {
  const checked = commonChecks(cfg, services);
  const { target, status } = checked;
  let errs = checked.errs;
  if (cfg.pathPrefix !== '') {
    const parseErr = urlParseError(cfg.pathPrefix);
    if (parseErr !== undefined) errs = multiAppend(errs, prefixError(parseErr, `invalid pathPrefix ${goQuote(cfg.pathPrefix)}:`));
    if (!cfg.pathPrefix.startsWith('/')) errs = multiAppend(errs, `pathPrefix must begin with \`/\`, found: ${goQuote(cfg.pathPrefix)}`);
  }
  const wildcardFields: [string, string[]][] = [
    ['IncludeRequestHeadersInCheck', cfg.includeRequestHeadersInCheck],
    ['IncludeHeadersInCheck', cfg.includeHeadersInCheck],
    ['HeadersToDownstreamOnDeny', cfg.headersToDownstreamOnDeny],
    ['HeadersToDownstreamOnAllow', cfg.headersToDownstreamOnAllow],
    ['HeadersToUpstreamOnAllow', cfg.headersToUpstreamOnAllow],
  ];
  for (const [field, values] of wildcardFields) {
    for (const v of values) {
      // A lone "*" would match every header; Envoy's list matchers need a prefix or suffix.
      if (v === '*') errs = multiAppend(errs, `a single wildcard ("*") is not supported, change it to either prefix or suffix match: ${field}`);
    }
  }
  if (errs !== undefined) return errs;
  if ('error' in target) return target.error; // already in errs; narrows `target`

  const headersToAdd: MessageInitShape<typeof HeaderValueSchema>[] = [...cfg.includeAdditionalHeadersInCheck]
    .sort(([a], [b]) => goCompare(a, b))
    .map(([key, value]) => ({ key, value }));
  const responseHeaders = cfg.headersToUpstreamOnAllow.length > 0 || cfg.headersToDownstreamOnDeny.length > 0 || cfg.headersToDownstreamOnAllow.length > 0;
  const service = create(HttpServiceSchema, {
    pathPrefix: cfg.pathPrefix,
    serverUri: {
      timeout: timeoutOrDefault(cfg.timeout),
      // Envoy requires a uri but the ext_authz filter only uses the cluster.
      uri: `http://${target.hostname}`,
      httpUpstreamType: { case: 'cluster', value: target.cluster },
    },
    authorizationRequest: headersToAdd.length > 0 ? { headersToAdd } : undefined,
    authorizationResponse: responseHeaders
      ? create(AuthorizationResponseSchema, {
          allowedUpstreamHeaders: headerMatchers(cfg.headersToUpstreamOnAllow),
          allowedClientHeaders: headerMatchers(cfg.headersToDownstreamOnDeny),
          allowedClientHeadersOnSuccess: headerMatchers(cfg.headersToDownstreamOnAllow),
        })
      : undefined,
  });
  // The deprecated includeHeadersInCheck counts only when includeRequestHeadersInCheck is empty.
  const allowedHeaders = headerMatchers(cfg.includeRequestHeadersInCheck) ?? headerMatchers(cfg.includeHeadersInCheck);
  const http = create(HttpExtAuthzSchema, {
    statusOnError: status.status,
    failureModeAllow: cfg.failOpen,
    transportApiVersion: ApiVersion.V3,
    services: { case: 'httpService', value: service },
    filterEnabledMetadata: filterMatcher(HTTP_RBAC_FILTER, EXT_AUTHZ_MATCH_PREFIX),
    withRequestBody: requestBody(cfg.includeRequestBody),
    allowedHeaders,
  });
  return { http };
}

function buildGrpc(cfg: GrpcProvider, services: ServiceNamespaces): Built | GoError {
  const { errs, target, status } = commonChecks(cfg, services);
  if (errs !== undefined) return errs;
  if ('error' in target) return target.error; // already in errs; narrows `target`

  const grpc: GrpcService = create(GrpcServiceSchema, {
    targetSpecifier: { case: 'envoyGrpc', value: { clusterName: target.cluster, authority: target.hostname } },
    timeout: timeoutOrDefault(cfg.timeout),
  });
  const http = create(HttpExtAuthzSchema, {
    statusOnError: status.status,
    failureModeAllow: cfg.failOpen,
    services: { case: 'grpcService', value: grpc },
    filterEnabledMetadata: filterMatcher(HTTP_RBAC_FILTER, EXT_AUTHZ_MATCH_PREFIX),
    transportApiVersion: ApiVersion.V3,
    withRequestBody: requestBody(cfg.includeRequestBody),
  });
  // The network filter has no status or body settings; "tcp." keeps its stats apart from HTTP's.
  const tcp = create(TcpExtAuthzSchema, {
    statPrefix: 'tcp.',
    failureModeAllow: cfg.failOpen,
    transportApiVersion: ApiVersion.V3,
    grpcService: clone(GrpcServiceSchema, grpc),
    filterEnabledMetadata: filterMatcher(TCP_RBAC_FILTER, EXT_AUTHZ_MATCH_PREFIX),
  });
  return { http, tcp };
}

function isBuilt(v: Built | GoError): v is Built {
  return typeof v !== 'string' && !(v instanceof MultiError);
}

/**
 * Istio's processExtensionProvider: MeshConfig.extensionProviders as proto-JSON objects (camelCase
 * keys; the proto names are accepted too) → by provider name. Providers of other kinds (tracing,
 * logging, ...) are skipped as Istio skips them; a later provider of a duplicate name replaces the
 * earlier one and carries the duplicate error.
 */
export function resolveExtAuthzProviders(providers: readonly Record<string, unknown>[], services: ServiceNamespaces): Map<string, ResolvedExtAuthz> {
  const resolved = new Map<string, ResolvedExtAuthz>();
  providers.forEach((config, index) => {
    const httpJson = get(config, 'envoyExtAuthzHttp');
    const grpcJson = get(config, 'envoyExtAuthzGrpc');
    if (httpJson === undefined && grpcJson === undefined) return;

    let errs: MultiError | undefined;
    const rawName = get(config, 'name') ?? '';
    const name = typeof rawName === 'string' ? rawName : '';
    if (typeof rawName !== 'string') errs = multiAppend(errs, `extension provider name is not a string: ${JSON.stringify(rawName)}`);
    if (name === '') errs = multiAppend(errs, `extension provider name must not be empty, found empty at index: ${index}`);
    else if (resolved.has(name)) errs = multiAppend(errs, `extension provider name must be unique, found duplicate: ${name}`);
    if (name !== '') {
      const nameErr = providerNameError(name);
      if (nameErr !== undefined) errs = multiAppend(errs, `invalid provider name ${goQuote(name)}: ${nameErr}`);
    }

    let built: Built | undefined;
    let err: GoError | undefined;
    try {
      if (httpJson !== undefined && grpcJson !== undefined) throw new JsonShapeError('more than one provider kind set (envoyExtAuthzHttp and envoyExtAuthzGrpc)');
      const body = httpJson ?? grpcJson;
      if (!isObject(body)) throw new JsonShapeError(`${httpJson !== undefined ? 'envoyExtAuthzHttp' : 'envoyExtAuthzGrpc'}: not an object`);
      if (httpJson !== undefined) {
        const cfg = readHttpProvider(body);
        err = validateHttpProvider(cfg);
        if (err === undefined) {
          const out = buildHttp(cfg, services);
          if (isBuilt(out)) built = out;
          else err = out;
        }
      } else {
        const cfg = readGrpcProvider(body);
        err = validateGrpcProvider(cfg);
        if (err === undefined) {
          const out = buildGrpc(cfg, services);
          if (isBuilt(out)) built = out;
          else err = out;
        }
      }
    } catch (e) {
      if (!(e instanceof JsonShapeError)) throw e;
      err = e.message;
    }
    if (err !== undefined) errs = multiAppend(errs, prefixError(err, `failed to parse extension provider ${goQuote(name)}:`));

    const entry: ResolvedExtAuthz = { ...built };
    if (errs !== undefined) entry.error = errorText(errs);
    resolved.set(name, entry);
  });
  return resolved;
}

/**
 * Istio's getExtAuthz for a single provider name: fresh copies of the filters (callers set
 * filterEnabledMetadata on them), or an Error whose message is Istio's.
 */
export function extAuthzFor(resolved: Map<string, ResolvedExtAuthz> | undefined, provider: string): { http?: HttpExtAuthz; tcp?: TcpExtAuthz } | Error {
  if (resolved === undefined) return new Error('extension provider is either invalid or undefined');
  const found = resolved.get(provider);
  if (found === undefined) return new Error(`available providers are ${goList([...resolved.keys()])} but found ${goQuote(provider)}`);
  if (found.error !== undefined) return new Error(`found errors in provider ${provider}: ${found.error}`);
  const out: { http?: HttpExtAuthz; tcp?: TcpExtAuthz } = {};
  if (found.http) out.http = clone(HttpExtAuthzSchema, found.http);
  if (found.tcp) out.tcp = clone(TcpExtAuthzSchema, found.tcp);
  return out;
}
