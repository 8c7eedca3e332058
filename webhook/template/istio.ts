// Istio's own injection-template functions (pkg/kube/inject/template.go), over the value model.
// Kubernetes and mesh objects may be given as Go-named structs/maps (ObjectMeta.Annotations,
// Container.Ports[].ContainerPort) or in their JSON form (annotations, ports[].containerPort).

import { FuncError } from './errors.js';
import { sprint } from './fmt.js';
import { def, type FuncDef } from './funcs.js';
import { fromGoJson, toGoJson, toGoYaml } from './encoding.js';
import { trimSpace } from './sprig-strings.js';
import { goMap, isMap, isNilPointer, isStruct, kindOf, mapGet, mapHas, mapKeys, methodOf } from './values.js';

export interface IstioFuncOptions {
  /** Environment for `env` (default process.env). */
  env?: Record<string, string | undefined>;
  /** Called on each warning Istio would log (bad JSON in fromJSON, marshal failures...). */
  warn?: (msg: string) => void;
  /** Istio's cleanProxyConfig: strips default fields before protoToJSON (default: identity). */
  cleanProxyConfig?: (v: unknown) => unknown;
}

const A = 'interface {}', S = 'string', I = 'int', SS = 'map[string]string';

function lcFirst(s: string): string {
  const m = /^[A-Z]+(?=[A-Z][a-z]|$)/.exec(s);
  if (m && m[0].length > 1) return m[0].toLowerCase() + s.slice(m[0].length);
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/** Reads a field of a Go struct or its JSON form: Get<Name>() method, <Name>, or its json name. */
export function field(obj: unknown, name: string): unknown {
  if (obj === null || obj === undefined || typeof obj !== 'object') return undefined;
  const getter = methodOf(obj, 'Get' + name);
  if (getter) {
    const r = getter();
    return isNilPointer(r) ? null : r;
  }
  const o = obj as Record<string, unknown>;
  if (isStruct(obj) && name in o) return o[name];
  if (isMap(obj)) {
    if (mapHas(obj, name)) return mapGet(obj, name);
    const j = lcFirst(name);
    if (mapHas(obj, j)) return mapGet(obj, j);
    return undefined;
  }
  const j = lcFirst(name);
  return j in o ? o[j] : undefined;
}

function stringMap(v: unknown): Map<string, string> {
  const m = new Map<string, string>();
  if (v && typeof v === 'object' && isMap(v)) {
    for (const k of mapKeys(v)) m.set(String(k), String(mapGet(v, k)));
  }
  return m;
}

/** Go's time.Duration.String for a duration in nanoseconds. */
export function formatGoDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1000000000n) {
    let unit: string, scale: bigint;
    if (u < 1000n) { unit = 'ns'; scale = 1n; } else if (u < 1000000n) { unit = 'µs'; scale = 1000n; } else { unit = 'ms'; scale = 1000000n; }
    out = fracString(u, scale) + unit;
  } else {
    const h = u / 3600000000000n; u %= 3600000000000n;
    const m = u / 60000000000n; u %= 60000000000n;
    out = fracString(u, 1000000000n) + 's';
    if (h > 0n) out = `${h}h${m}m` + out;
    else if (m > 0n) out = `${m}m` + out;
  }
  return neg ? '-' + out : out;
}

function fracString(v: bigint, scale: bigint): string {
  const whole = v / scale, frac = v % scale;
  if (frac === 0n) return whole.toString();
  const digits = scale.toString().length - 1;
  return whole + '.' + frac.toString().padStart(digits, '0').replace(/0+$/, '');
}

/** Nanoseconds of a protobuf Duration given as {seconds, nanos}, a Go struct, or its JSON string ("1.5s"). */
export function durationNanos(v: unknown): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'string') {
    const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(v.trim());
    if (!m) throw new FuncError(`invalid duration ${JSON.stringify(v)}`);
    const ns = BigInt(m[2]) * 1000000000n + BigInt((m[3] ?? '').padEnd(9, '0') || '0');
    return m[1] ? -ns : ns;
  }
  const sec = field(v, 'Seconds'), nanos = field(v, 'Nanos');
  const toBig = (x: unknown): bigint => (typeof x === 'bigint' ? x : typeof x === 'number' ? BigInt(Math.trunc(x)) : typeof x === 'string' && x ? BigInt(x) : 0n);
  return toBig(sec) * 1000000000n + toBig(nanos);
}

function containerPorts(containers: unknown[], include: (c: unknown) => boolean): string {
  const parts: string[] = [];
  for (const c of containers) {
    if (!include(c)) continue;
    const ports = field(c, 'Ports');
    if (!Array.isArray(ports)) continue;
    for (const p of ports) {
      const proto = field(p, 'Protocol');
      if (proto === 'UDP' || proto === 'SCTP') continue;
      parts.push(sprint(field(p, 'ContainerPort') ?? 0n));
    }
  }
  return parts.join(',');
}

/** k8s.io/utils/strings.SplitQualifiedName */
function splitQualifiedName(s: string): [string, string] {
  const i = s.indexOf('/');
  return i < 0 ? ['', s] : [s.slice(0, i), s.slice(i + 1)];
}

function appendMultusNetwork(existing: string, cni: string, warn: (m: string) => void): string {
  if (existing === '') return cni;
  const i = existing.lastIndexOf(']');
  if (i !== -1) {
    let nets: unknown;
    try { nets = JSON.parse(existing); } catch (e) {
      warn(`Unable to unmarshal Multus Network annotation JSON value: ${e instanceof Error ? e.message : String(e)}`);
      return existing;
    }
    if (!Array.isArray(nets)) { warn('Unable to unmarshal Multus Network annotation JSON value'); return existing; }
    const [ns, name] = splitQualifiedName(cni);
    for (const net of nets as Record<string, unknown>[]) {
      if (net && net.name === name && (net.namespace ?? '') === ns) return existing;
    }
    const add = ns === '' ? `, {"name": "${name}"}` : `, {"name": "${name}", "namespace": "${ns}"}`;
    return existing.slice(0, i) + add + existing.slice(i);
  }
  for (const n of existing.split(',')) if (trimSpace(n) === cni) return existing;
  return existing + ', ' + cni;
}

function omitNilInternal(v: unknown): [unknown, boolean] {
  if (v === null || v === undefined) return [null, true];
  if (kindOf(v) === 'map' && !(v instanceof Map)) {
    const o = v as Record<string, unknown>;
    if (!Object.values(o).some(x => omitNilInternal(x)[1])) return [v, false];
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) {
      const f = omitNilInternal(x)[0];
      if (f !== null) out[k] = f;
    }
    return Object.keys(out).length ? [out, true] : [null, true];
  }
  if (Array.isArray(v)) {
    if (!v.some(x => omitNilInternal(x)[1])) return [v, false];
    const out = v.map(x => omitNilInternal(x)[0]).filter(x => x !== null);
    return out.length ? [out, true] : [null, true];
  }
  return [v, false];
}

function mergeMaps(...maps: Record<string, string>[]): Record<string, string> | null {
  if (maps.length === 0) return null;
  const res: Record<string, string> = {};
  for (const m of maps) for (const [k, v] of stringMap(m)) res[k] = v;
  return goMap(res);
}

function parseImageTagDigest(image: string): [string, string] {
  let tag = '', digest = '';
  const at = image.indexOf('@');
  if (at >= 0) { digest = image.slice(at + 1); image = image.slice(0, at); }
  const slash = image.lastIndexOf('/'), colon = image.lastIndexOf(':');
  if (colon > slash) tag = image.slice(colon + 1);
  return [tag, digest];
}

function otelResourceAttributes(mc: unknown, annotations: unknown, labels: unknown, namespace: string, containers: unknown[]): string {
  const providers = field(mc, 'ExtensionProviders');
  const semconv = Array.isArray(providers) && providers.some(ep => {
    const otel = field(ep, 'Opentelemetry');
    if (otel === null || otel === undefined) return false;
    const e = field(otel, 'ServiceAttributeEnrichment');
    const str = methodOf(e, 'String');
    return e === 'OTEL_SEMANTIC_CONVENTIONS' || e === 1 || e === 1n || (str !== undefined && str() === 'OTEL_SEMANTIC_CONVENTIONS');
  });
  if (!semconv) return '';
  const ann = stringMap(annotations), lab = stringMap(labels);
  const attrs: string[] = [];
  const a = (k: string): string | undefined => (ann.get(k) ? ann.get(k) : undefined);
  if (a('resource.opentelemetry.io/service.namespace')) attrs.push('service.namespace=' + a('resource.opentelemetry.io/service.namespace'));
  else if (namespace !== '') attrs.push('service.namespace=' + namespace);
  if (a('resource.opentelemetry.io/service.version')) attrs.push('service.version=' + a('resource.opentelemetry.io/service.version'));
  else if (lab.get('app.kubernetes.io/version')) attrs.push('service.version=' + lab.get('app.kubernetes.io/version'));
  else if (containers.length === 1) {
    const [tag, digest] = parseImageTagDigest(String(field(containers[0], 'Image') ?? ''));
    if (tag && digest) attrs.push(`service.version=${tag}@${digest}`);
    else if (digest) attrs.push('service.version=' + digest);
    else if (tag) attrs.push('service.version=' + tag);
  }
  if (a('resource.opentelemetry.io/service.instance.id')) attrs.push('service.instance.id=' + a('resource.opentelemetry.io/service.instance.id'));
  else if (containers.length > 0) attrs.push(`service.instance.id=${namespace}.$(POD_NAME).${String(field(containers[0], 'Name') ?? '')}`);
  return attrs.join(',');
}

/** Istio's InjectionFuncmap (added over Sprig's, so `indent`, `contains`, `omit`, `env` are Istio's). */
export function istioFuncs(opts: IstioFuncOptions = {}): Record<string, FuncDef> {
  const env = opts.env ?? process.env;
  const warn = opts.warn ?? (() => undefined);
  const clean = opts.cleanProxyConfig ?? ((v: unknown) => v);
  return {
    formatDuration: def([A], (d: unknown) => formatGoDuration(durationNanos(d))),
    isset: def([SS, S], (m: Record<string, string>, k: string) => mapHas(m, k)),
    excludeInboundPort: def([A, S], (port: unknown, excluded: string) => {
      const portStr = trimSpace(sprint(port));
      if (portStr.length === 0 || portStr === '0') return excluded;
      const out: string[] = [];
      for (let p of excluded.split(',')) {
        if (p === portStr) return excluded;
        p = trimSpace(p);
        if (p.length > 0) out.push(p);
      }
      out.push(portStr);
      return out.join(',');
    }),
    includeInboundPorts: def(['[]v1.Container'], (cs: unknown[]) => containerPorts(cs, () => true)),
    applicationPorts: def(['[]v1.Container'], (cs: unknown[]) => containerPorts(cs, c => field(c, 'Name') !== 'istio-proxy')),
    kubevirtInterfaces: def([S], (s: string) => s),
    excludeInterfaces: def([S], (s: string) => s),
    annotation: def(['v1.ObjectMeta', S, A], (meta: unknown, name: string, dflt: unknown) => {
      const ann = field(meta, 'Annotations');
      if (ann && typeof ann === 'object' && isMap(ann) && mapHas(ann, name)) return String(mapGet(ann, name));
      return sprint(dflt);
    }),
    valueOrDefault: def([A, A], (v: unknown, d: unknown) => (v === '' || v === null || v === undefined ? d : v)),
    toJSON: def([SS], (m: Record<string, string>) => {
      if (m === null || m === undefined) return '{}';
      try { return toGoJson(m); } catch { warn(`Unable to marshal ${sprint(m)}`); return '{}'; }
    }),
    fromJSON: def([S], (s: string) => {
      try { return fromGoJson(s); } catch { warn(`Unable to unmarshal ${s}`); return '{}'; }
    }),
    structToJSON: def([A], (v: unknown) => {
      if (v === null || v === undefined) return '{}';
      try { return toGoJson(v); } catch { warn(`Unable to marshal ${sprint(v)}`); return '{}'; }
    }),
    protoToJSON: def(['proto.Message'], (v: unknown) => {
      const c = clean(v);
      if (c === null || c === undefined) return '{}';
      try { return toGoJson(c, { sortKeys: false }); } catch (e) { warn(`Unable to marshal ${sprint(c)}: ${String(e)}`); return '{}'; }
    }),
    toYaml: def([A], (v: unknown) => {
      try { return toGoYaml(v); } catch { warn(`Unable to marshal ${sprint(v)}`); return ''; }
    }),
    indent: def([I, S], (spaces: bigint, source: string) =>
      source.split('\n').map((l, i) => (i > 0 ? ' '.repeat(Math.max(0, Number(spaces))) + l : l)).join('\n')),
    directory: def([S], (p: string) => p.slice(0, p.lastIndexOf('/') + 1)),
    contains: def([S, S], (needle: string, haystack: string) => haystack.includes(needle)),
    toLower: def([S], (s: string) => s.toLowerCase()),
    appendMultusNetwork: def([S, S], (e: string, c: string) => appendMultusNetwork(e, c, warn)),
    env: def([S, S], (k: string, d: string) => env[k] || d),
    omit: def([SS], (m: Record<string, string>, ...keys: string[]) => {
      const res: Record<string, string> = {};
      for (const [k, v] of stringMap(m)) if (!keys.includes(k)) res[k] = v;
      return goMap(res);
    }, S),
    strdict: def([], (...v: string[]) => {
      const d: Record<string, string> = {};
      for (let i = 0; i < v.length; i += 2) d[v[i]] = i + 1 < v.length ? v[i + 1] : '';
      return goMap(d);
    }, S),
    toJsonMap: def([], (...ms: Record<string, string>[]) => {
      try { return toGoJson(mergeMaps(...ms)); } catch { return ''; }
    }, SS),
    mergeMaps: def([], mergeMaps, SS),
    omitNil: def([A], (v: unknown) => omitNilInternal(v)[0]),
    otelResourceAttributes: def(['*v1alpha1.MeshConfig', SS, SS, S, '[]v1.Container'], otelResourceAttributes),
  };
}

