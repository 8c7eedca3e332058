// Istio's mesh configuration (MeshConfig, ProxyConfig) in protobuf-JSON form: decoding with
// jsonpb's rules (merge into an existing message, unknown fields ignored as Istio's retry does),
// jsonpb's output (field declaration order, defaults omitted), Istio's defaults
// (mesh.DefaultMeshConfig / DefaultProxyConfig), ApplyMeshConfig / MergeProxyConfig, and the Go
// struct views injection templates read (`.ProxyConfig.InterceptionMode`, `.MeshConfig.TrustDomain`).

import { parse as parseYaml } from 'yaml';
import { goMap, goNil, goSlice, goStruct, isNilPointer } from '../template/index.js';
import { MESH_ENUMS, MESH_MESSAGES } from './gen/mesh-proto.js';
import { parseYamlWith } from './fastyaml.js';

export type ProtoJson = Record<string, unknown>;

export const MESH_CONFIG = 'istio.mesh.v1alpha1.MeshConfig';
export const PROXY_CONFIG = 'istio.mesh.v1alpha1.ProxyConfig';

export class ProtoError extends Error {}

interface ProtoField {
  proto: string;
  json: string;
  go: string;
  type: string;
  label: '' | 'repeated' | 'map';
  oneof?: string;
}

const messages = new Map<string, { fields: ProtoField[]; byName: Map<string, ProtoField> }>();

function message(name: string): { fields: ProtoField[]; byName: Map<string, ProtoField> } | undefined {
  let m = messages.get(name);
  if (m) return m;
  const table = MESH_MESSAGES[name];
  if (!table) return undefined;
  const fields = table.map(([proto, json, go, type, label = '', oneof]) => ({
    proto, json, go, type, label: label as ProtoField['label'], oneof: oneof || undefined,
  }));
  const byName = new Map<string, ProtoField>();
  for (const f of fields) { byName.set(f.json, f); byName.set(f.proto, f); }
  m = { fields, byName };
  messages.set(name, m);
  return m;
}

const WRAPPERS: Record<string, string> = {
  BoolValue: 'bool', Int32Value: 'int32', UInt32Value: 'uint32', Int64Value: 'int64', UInt64Value: 'uint64',
  DoubleValue: 'double', FloatValue: 'float', StringValue: 'string',
};
const INT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);
const INT64_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

// ---- Durations ----

/** Parses a protobuf JSON duration ("1.5s") to nanoseconds. */
export function parseProtoDuration(s: string): bigint {
  const m = /^(-)?(\d+)(?:\.(\d{0,9}))?s$/.exec(s);
  if (!m) throw new ProtoError(`bad Duration: ${JSON.stringify(s)}`);
  const ns = BigInt(m[2]) * 1000000000n + BigInt((m[3] ?? '').padEnd(9, '0') || '0');
  return m[1] ? -ns : ns;
}

/** jsonpb's duration text: "23s", "1.500s", "0.000001s". */
export function formatProtoDuration(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  let x = `${abs / 1000000000n}.${(abs % 1000000000n).toString().padStart(9, '0')}`;
  if (x.endsWith('000')) x = x.slice(0, -3);
  if (x.endsWith('000')) x = x.slice(0, -3);
  if (x.endsWith('.000')) x = x.slice(0, -4);
  return (neg ? '-' : '') + x + 's';
}

// ---- decoding (jsonpb Unmarshal into an existing message) ----

function decodeScalar(type: string, v: unknown, where: string): unknown {
  if (type === 'string') {
    if (typeof v !== 'string') throw new ProtoError(`${where}: expected a string, got ${JSON.stringify(v)}`);
    return v;
  }
  if (type === 'bool') {
    if (typeof v !== 'boolean') throw new ProtoError(`${where}: expected a boolean, got ${JSON.stringify(v)}`);
    return v;
  }
  if (type === 'bytes') {
    if (typeof v !== 'string') throw new ProtoError(`${where}: expected base64 bytes, got ${JSON.stringify(v)}`);
    return v;
  }
  if (INT_TYPES.has(type)) {
    const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) throw new ProtoError(`${where}: expected an integer, got ${JSON.stringify(v)}`);
    if ((type.startsWith('u') || type.startsWith('fixed')) && n < 0) throw new ProtoError(`${where}: expected an unsigned integer, got ${n}`);
    if ((type === 'int32' || type === 'sint32' || type === 'sfixed32') && (n < -2147483648 || n > 2147483647)) {
      throw new ProtoError(`${where}: ${n} overflows int32`);
    }
    return n;
  }
  if (type === 'double' || type === 'float') {
    if (typeof v === 'number') return v;
    if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return Number(v);
    if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
    throw new ProtoError(`${where}: expected a number, got ${JSON.stringify(v)}`);
  }
  throw new ProtoError(`${where}: unsupported type ${type}`);
}

function decodeValue(type: string, v: unknown, where: string): unknown {
  if (type in WRAPPERS) return decodeScalar(WRAPPERS[type], v, where);
  if (type === 'Duration') {
    if (typeof v !== 'string') throw new ProtoError(`${where}: bad Duration: ${JSON.stringify(v)}`);
    return formatProtoDuration(parseProtoDuration(v.trim()));
  }
  if (type === 'Struct' || type === 'Value' || type === 'Any' || type === 'Timestamp') return v;
  const e = MESH_ENUMS[type];
  if (e) {
    if (typeof v === 'string') {
      if (!e.some(([n]) => n === v)) throw new ProtoError(`${where}: unknown value ${JSON.stringify(v)} for enum ${type}`);
      return v;
    }
    if (typeof v === 'number' && Number.isInteger(v)) return e.find(([, n]) => n === v)?.[0] ?? v;
    throw new ProtoError(`${where}: invalid value for enum ${type}: ${JSON.stringify(v)}`);
  }
  if (message(type)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtoError(`${where}: expected an object for ${type}`);
    const out: ProtoJson = {};
    mergeProtoJson(type, out, v as Record<string, unknown>, where);
    return out;
  }
  return decodeScalar(type, v, where);
}

function isZeroScalar(type: string, v: unknown): boolean {
  if (MESH_ENUMS[type]) return MESH_ENUMS[type][0]?.[0] === v || v === 0;
  if (type === 'string' || type === 'bytes') return v === '';
  if (type === 'bool') return v === false;
  if (INT_TYPES.has(type) || type === 'double' || type === 'float') return v === 0;
  return false;
}

/**
 * jsonpb.Unmarshal of `json` into the message `target` (mutated): present fields overwrite,
 * nested messages, maps and lists are replaced whole, nulls and unknown fields are ignored.
 */
export function mergeProtoJson(type: string, target: ProtoJson, json: Record<string, unknown>, where = type): void {
  const m = message(type);
  if (!m) throw new ProtoError(`unknown message ${type}`);
  for (const [k, v] of Object.entries(json)) {
    const f = m.byName.get(k);
    if (!f || v === null || v === undefined) continue;
    const at = `${where}.${f.json}`;
    let value: unknown;
    if (f.label === 'repeated') {
      if (!Array.isArray(v)) throw new ProtoError(`${at}: expected a list`);
      value = v.map((x, i) => decodeValue(f.type, x, `${at}[${i}]`));
      if ((value as unknown[]).length === 0) { delete target[f.json]; continue; }
    } else if (f.label === 'map') {
      if (typeof v !== 'object' || Array.isArray(v)) throw new ProtoError(`${at}: expected a map`);
      const out: Record<string, unknown> = {};
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) out[mk] = decodeValue(f.type, mv, `${at}[${mk}]`);
      value = out;
      if (Object.keys(out).length === 0) { delete target[f.json]; continue; }
    } else {
      value = decodeValue(f.type, v, at);
    }
    if (f.oneof) {
      for (const o of m.fields) if (o.oneof === f.oneof) delete target[o.json];
      target[f.json] = value;
    } else if (f.label === '' && isZeroScalar(f.type, value)) {
      delete target[f.json];
    } else {
      target[f.json] = value;
    }
  }
}

/** Parses YAML (sigs.k8s.io/yaml rules) into a JSON object; empty text is `{}`. */
export function yamlToJson(text: string): Record<string, unknown> {
  const v = parseYamlWith(text, t => JSON.parse(JSON.stringify(parseYaml(t, { version: '1.1', merge: true, uniqueKeys: false }) ?? null)));
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ProtoError(`expected a YAML mapping, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}

// ---- output (jsonpb Marshal) ----

function encodeValue(type: string, v: unknown): unknown {
  if (type in WRAPPERS) return INT64_TYPES.has(WRAPPERS[type]) ? String(v) : v;
  if (INT64_TYPES.has(type)) return String(v);
  if (message(type)) return protoToJson(type, v as ProtoJson);
  return v;
}

/** jsonpb's JSON object for a message: declaration order, unset fields omitted, maps sorted. */
export function protoToJson(type: string, msg: ProtoJson): ProtoJson {
  const m = message(type);
  if (!m) return msg;
  const out: ProtoJson = {};
  for (const f of m.fields) {
    const v = msg[f.json];
    if (v === undefined) continue;
    if (f.label === 'repeated') out[f.json] = (v as unknown[]).map(x => encodeValue(f.type, x));
    else if (f.label === 'map') {
      const mo: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) mo[k] = encodeValue(f.type, (v as Record<string, unknown>)[k]);
      out[f.json] = mo;
    } else out[f.json] = encodeValue(f.type, v);
  }
  return out;
}

export function cloneProto<T>(v: T): T {
  return structuredClone(v);
}

// ---- defaults ----

/** mesh.DefaultProxyConfig() */
export function defaultProxyConfig(): ProtoJson {
  return {
    configPath: './etc/istio/proxy',
    binaryPath: '/usr/local/bin/envoy',
    serviceCluster: 'istio-proxy',
    drainDuration: '45s',
    discoveryAddress: 'istiod.istio-system.svc:15012',
    proxyAdminPort: 15000,
    controlPlaneAuthPolicy: 'MUTUAL_TLS',
    statNameLength: 189,
    statusPort: 15020,
    terminationDrainDuration: '5s',
  };
}

/** mesh.DefaultMeshConfig() */
export function defaultMeshConfig(): ProtoJson {
  return {
    enableTracing: true,
    protocolDetectionTimeout: '0s',
    ingressService: 'istio-ingressgateway',
    ingressControllerMode: 'STRICT',
    ingressClass: 'istio',
    trustDomain: 'cluster.local',
    enableAutoMtls: true,
    outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
    inboundTrafficPolicy: {},
    localityLbSetting: { enabled: true },
    defaultConfig: defaultProxyConfig(),
    rootNamespace: 'istio-system',
    proxyListenPort: 15001,
    proxyInboundListenPort: 15006,
    connectTimeout: '10s',
    defaultServiceExportTo: ['*'],
    defaultVirtualServiceExportTo: ['*'],
    defaultDestinationRuleExportTo: ['*'],
    dnsRefreshRate: '60s',
    enablePrometheusMerge: true,
    defaultProviders: {},
    extensionProviders: [
      { name: 'prometheus', prometheus: {} },
      { name: 'stackdriver', stackdriver: {} },
      { name: 'envoy', envoyFileAccessLog: { path: '/dev/stdout' } },
    ],
  };
}

// ---- Istio's merge rules ----

/** mesh.MergeProxyConfig: YAML over `pc` (mutated and returned); proxyMetadata maps are merged. */
export function mergeProxyConfig(yaml: string | Record<string, unknown>, pc: ProtoJson): ProtoJson {
  const origMetadata = pc.proxyMetadata as Record<string, string> | undefined;
  const origHeaders = pc.proxyHeaders as ProtoJson | undefined;
  let json: Record<string, unknown>;
  try {
    json = typeof yaml === 'string' ? yamlToJson(yaml) : yaml;
    mergeProtoJson(PROXY_CONFIG, pc, json, 'ProxyConfig');
  } catch (e) {
    throw new ProtoError(`could not parse proxy config: ${(e as Error).message}`);
  }
  const newMetadata = pc.proxyMetadata as Record<string, string> | undefined;
  if (origMetadata || newMetadata) pc.proxyMetadata = { ...origMetadata, ...newMetadata };
  const ph = pc.proxyHeaders as ProtoJson | undefined;
  if (ph && origHeaders) {
    for (const k of ['forwardedClientCert', 'requestId', 'server', 'attemptCount', 'envoyDebugHeaders']) {
      if (ph[k] === undefined && origHeaders[k] !== undefined) ph[k] = origHeaders[k];
    }
  }
  return pc;
}

/** mesh.ApplyProxyConfig: a copy of the mesh config with the YAML merged over its defaultConfig. */
export function applyProxyConfig(yaml: string, mc: ProtoJson): ProtoJson {
  const out = cloneProto(mc);
  out.defaultConfig = mergeProxyConfig(yaml, (out.defaultConfig as ProtoJson | undefined) ?? {});
  return out;
}

/** mesh.ApplyMeshConfig: the `mesh` YAML over `base` (a default MeshConfig; mutated and returned). */
export function applyMeshConfig(yaml: string | Record<string, unknown>, base: ProtoJson): ProtoJson {
  const raw = typeof yaml === 'string' ? yamlToJson(yaml) : yaml;
  const prevProxy = base.defaultConfig as ProtoJson | undefined;
  const prevProviders = base.defaultProviders as ProtoJson | undefined;
  const prevExtension = (base.extensionProviders as ProtoJson[] | undefined) ?? [];
  const prevAliases = (base.trustDomainAliases as string[] | undefined) ?? [];
  base.defaultConfig = defaultProxyConfig();
  try {
    mergeProtoJson(MESH_CONFIG, base, raw, 'MeshConfig');
  } catch (e) {
    throw new ProtoError(`failed to convert to proto: ${(e as Error).message}`);
  }
  base.defaultConfig = prevProxy ?? {};
  if (raw.defaultConfig !== undefined && raw.defaultConfig !== null) {
    base.defaultConfig = mergeProxyConfig(raw.defaultConfig as Record<string, unknown>, base.defaultConfig as ProtoJson);
  }
  base.defaultProviders = prevProviders ?? {};
  if (raw.defaultProviders !== undefined && raw.defaultProviders !== null) {
    try {
      mergeProtoJson('istio.mesh.v1alpha1.MeshConfig.DefaultProviders', base.defaultProviders as ProtoJson,
        raw.defaultProviders as Record<string, unknown>, 'MeshConfig.defaultProviders');
    } catch (e) {
      throw new ProtoError(`could not parse default providers: ${(e as Error).message}`);
    }
  }
  const newExtension = (base.extensionProviders as ProtoJson[] | undefined) ?? [];
  const merged = prevExtension;
  if (newExtension !== prevExtension) {
    for (const p of newExtension) {
      const existing = merged.find(e => e.name === p.name);
      if (existing) {
        for (const k of Object.keys(existing)) if (k !== 'name') delete existing[k];
        Object.assign(existing, p);
      } else merged.push(p);
    }
  }
  if (merged.length) base.extensionProviders = merged;
  else delete base.extensionProviders;
  const aliases = [...new Set([...((base.trustDomainAliases as string[] | undefined) ?? []), ...prevAliases])].sort();
  if (aliases.length) base.trustDomainAliases = aliases;
  else delete base.trustDomainAliases;
  const errs = validateProxyConfig(base.defaultConfig as ProtoJson);
  if (errs.length) throw new ProtoError(errs.join('; '));
  return base;
}

/** Reads a MeshConfig YAML over Istio's defaults (mesh.ApplyMeshConfigDefaults). */
export function meshConfigFromYaml(yaml: string): ProtoJson {
  return applyMeshConfig(yaml, defaultMeshConfig());
}

/** Istio's cleanProxyConfig: drop fields equal to their defaults before printing PROXY_CONFIG. */
export function cleanProxyConfig(pc: ProtoJson): ProtoJson {
  const out = cloneProto(pc);
  const d = defaultProxyConfig();
  for (const k of ['configPath', 'binaryPath', 'controlPlaneAuthPolicy', 'drainDuration', 'terminationDrainDuration',
    'discoveryAddress', 'proxyAdminPort', 'statNameLength', 'statusPort']) {
    if (out[k] !== undefined && out[k] === d[k]) delete out[k];
  }
  if (out.serviceCluster === d.serviceCluster) delete out.serviceCluster;
  const proxyMetadata = out.proxyMetadata as Record<string, string> | undefined;
  if (proxyMetadata && Object.keys(proxyMetadata).length === 0) delete out.proxyMetadata;
  return out;
}

// ---- validation (agent.ValidateMeshConfigProxyConfig, the parts injection relies on) ----

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}

function validateProxyAddress(addr: string): string | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d*)$/.exec(addr);
  if (!m) return `unable to split ${JSON.stringify(addr)}: address ${addr}: missing port in address`;
  const port = Number(m[3]);
  if (m[3] === '' || !Number.isInteger(port)) return `port (${m[3]}) is not a number`;
  if (!validPort(port)) return `port number ${port} must be in the range 1..65535`;
  return undefined;
}

export function validateProxyConfig(pc: ProtoJson): string[] {
  const errs: string[] = [];
  if (!pc.configPath) errs.push('config path must be set');
  if (!pc.binaryPath) errs.push('binary path must be set');
  if (pc.serviceCluster === undefined && pc.tracingServiceName === undefined) {
    errs.push('oneof service cluster or tracing service name must be specified');
  } else if (pc.serviceCluster === '') errs.push('service cluster must be specified');
  const drain = parseProtoDuration((pc.drainDuration as string | undefined) ?? '0s');
  if (drain < 1000000n) errs.push('invalid drain duration: duration must be greater than 1ms');
  else if (drain % 1000000n !== 0n) errs.push('invalid drain duration: only durations to ms precision are supported');
  else if (drain % 1000000000n !== 0n) errs.push('drain time only supports durations to seconds precision');
  if (!pc.discoveryAddress) errs.push('discovery address must be set to the proxy discovery service');
  else {
    const e = validateProxyAddress(pc.discoveryAddress as string);
    if (e) errs.push(`invalid discovery address: ${e}`);
  }
  if (pc.statsdUdpAddress) {
    const e = validateProxyAddress(pc.statsdUdpAddress as string);
    if (e) errs.push(`invalid statsd udp address ${JSON.stringify(pc.statsdUdpAddress)}: ${e}`);
  }
  if (!validPort((pc.proxyAdminPort as number | undefined) ?? 0)) {
    errs.push(`invalid proxy admin port: port number ${(pc.proxyAdminPort as number | undefined) ?? 0} must be in the range 1..65535`);
  }
  if (!validPort((pc.statusPort as number | undefined) ?? 0)) {
    errs.push(`invalid status port: port number ${(pc.statusPort as number | undefined) ?? 0} must be in the range 1..65535`);
  }
  return errs;
}

// ---- Go views ----

const PROTO_JSON = Symbol.for('isthmus.inject.protoJson');

/** The protobuf-JSON message behind a view made by protoView, if any. */
export function protoJsonOf(v: unknown): { type: string; msg: ProtoJson } | undefined {
  return (v as { [PROTO_JSON]?: { type: string; msg: ProtoJson } } | null)?.[PROTO_JSON];
}

function goPackage(full: string): string {
  const parts = full.split('.');
  const pkgEnd = parts.findIndex(p => /^[A-Z]/.test(p));
  return parts[pkgEnd - 1] + '.' + parts.slice(pkgEnd).join('_');
}

function zeroView(f: ProtoField): unknown {
  if (f.label === 'repeated') return goSlice([], `[]${elemTypeName(f.type)}`);
  if (f.label === 'map') return goMap({}, `map[string]${elemTypeName(f.type)}`);
  return valueView(f.type, undefined);
}

function elemTypeName(type: string): string {
  if (type in WRAPPERS) return `*wrapperspb.${type}`;
  if (type === 'Duration') return '*durationpb.Duration';
  if (MESH_ENUMS[type]) return goPackage(type);
  if (message(type)) return '*' + goPackage(type);
  if (type === 'double') return 'float64';
  if (type === 'float') return 'float32';
  if (type === 'bytes') return '[]uint8';
  return type;
}

function valueView(type: string, v: unknown): unknown {
  if (type in WRAPPERS) {
    const inner = WRAPPERS[type];
    const zero = INT_TYPES.has(inner) ? 0n : inner === 'bool' ? false : inner === 'string' ? '' : 0;
    if (v === undefined) return goNil(`*wrapperspb.${type}`, { GetValue: () => zero });
    const val = INT_TYPES.has(inner) ? BigInt(v as number) : v;
    return goStruct(`*wrapperspb.${type}`, { Value: val, GetValue: () => val, toJSON: () => v });
  }
  if (type === 'Duration') {
    if (v === undefined) return goNil('*durationpb.Duration', { GetSeconds: () => 0n, GetNanos: () => 0n });
    const ns = parseProtoDuration(v as string);
    const seconds = ns / 1000000000n, nanos = ns % 1000000000n;
    return goStruct('*durationpb.Duration', {
      Seconds: seconds, Nanos: nanos, GetSeconds: () => seconds, GetNanos: () => nanos, toJSON: () => v,
    });
  }
  const e = MESH_ENUMS[type];
  if (e) {
    const name = typeof v === 'string' ? v : e.find(([, n]) => n === (v ?? 0))?.[0] ?? String(v);
    const num = BigInt(e.find(([n]) => n === name)?.[1] ?? 0);
    return goStruct(goPackage(type), { String: () => name, Number: () => num, toJSON: () => name });
  }
  if (message(type)) return protoView(type, v as ProtoJson | undefined);
  if (INT_TYPES.has(type)) return BigInt((v as number | undefined) ?? 0);
  if (type === 'double' || type === 'float') return (v as number | undefined) ?? 0;
  if (type === 'bool') return (v as boolean | undefined) ?? false;
  if (type === 'string' || type === 'bytes') return (v as string | undefined) ?? '';
  return v ?? null;
}

/**
 * A Go view of a message: exported fields by Go name, `GetX()` getters, typed nil pointers for
 * unset messages (whose getters return zero values, as protobuf's nil-safe getters do).
 */
export function protoView(type: string, msg: ProtoJson | undefined): unknown {
  const m = message(type);
  if (!m) return msg ?? null;
  const goType = '*' + goPackage(type);
  const getters: Record<string, () => unknown> = {};
  if (msg === undefined) {
    for (const f of m.fields) getters['Get' + f.go] = () => zeroView(f);
    return goNil(goType, getters);
  }
  // Field views are built on first use: templates read a handful of a MeshConfig's fields.
  const obj: Record<string, unknown> = {};
  const oneofs = new Map<string, ProtoField[]>();
  for (const f of m.fields) {
    const v = msg[f.json];
    let cached: unknown, built = false;
    const view = (): unknown => {
      if (built) return cached;
      built = true;
      if (f.label === 'repeated') {
        cached = goSlice(((v as unknown[] | undefined) ?? []).map(x => valueView(f.type, x)), `[]${elemTypeName(f.type)}`);
      } else if (f.label === 'map') {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries((v as Record<string, unknown> | undefined) ?? {})) out[k] = valueView(f.type, x);
        cached = goMap(out, `map[string]${elemTypeName(f.type)}`);
      } else {
        cached = valueView(f.type, v);
      }
      return cached;
    };
    if (f.oneof) {
      const oneofGo = f.oneof.split('_').map(x => x.charAt(0).toUpperCase() + x.slice(1)).join('');
      oneofs.set(oneofGo, [...(oneofs.get(oneofGo) ?? []), f]);
    } else {
      Object.defineProperty(obj, f.go, { get: view, enumerable: true, configurable: true });
    }
    getters['Get' + f.go] = view;
  }
  for (const [oneofGo, members] of oneofs) {
    const set = members.find(f => msg[f.json] !== undefined);
    Object.defineProperty(obj, oneofGo, {
      get: () => (set ? goStruct(`${goType}_${set.go}`, { [set.go]: getters['Get' + set.go]() }) : null),
      enumerable: true, configurable: true,
    });
  }
  Object.assign(obj, getters, { toJSON: () => protoToJson(type, msg) });
  Object.defineProperty(obj, PROTO_JSON, { value: { type, msg }, enumerable: false });
  return goStruct(goType, obj);
}

/**
 * What protoToJSON prints for a value in templates: jsonpb's JSON of the message, with Istio's
 * cleanProxyConfig applied to a ProxyConfig; nil for a nil message.
 */
export function protoJsonForTemplate(v: unknown): unknown {
  if (isNilPointer(v)) return null;
  const p = protoJsonOf(v);
  if (!p) return v;
  if (p.type === PROXY_CONFIG) return protoToJson(PROXY_CONFIG, cleanProxyConfig(p.msg));
  return protoToJson(p.type, p.msg);
}
