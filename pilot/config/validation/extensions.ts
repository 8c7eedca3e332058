// Telemetry, WasmPlugin, EnvoyFilter and ProxyConfig.
import { isNullMessage } from '../schema/dsl.js';
import type * as net from '../schema/envoyfilter.js';
import type { Telemetry } from '../schema/telemetry.js';
import type { WasmPlugin } from '../schema/extensions.js';
import { goUrlParse, goUrlParseRequestURI, type GoUrl } from '../schema/formats.js';
import { validateAlphaWorkloadSelector, validatePolicyTargets, validateWorkloadSelector } from './common.js';
import { celSyntaxError } from './cel.js';
import type { Report } from './report.js';
import { re2ToRegExp } from '../../util/re2.js';

function validateProviders(r: Report, providers: { name?: string }[] | undefined): void {
  if ((providers ?? []).some((p) => !p.name)) r.error('providers.name may not be empty', 'providers');
}

export function validateTelemetry(r: Report, t: Telemetry): void {
  validatePolicyTargets(r, t);
  (t.metrics ?? []).forEach((m, i) => {
    const at = r.at('metrics', i);
    validateProviders(at, m.providers);
    (m.overrides ?? []).forEach((o, j) => {
      const ov = at.at('overrides', j);
      if (isNullMessage(o)) return ov.error('tagOverrides may not be null');
      for (const [name, to] of Object.entries(o.tagOverrides ?? {})) {
        if (name === '') ov.warn('tagOverrides.name may not be empty', 'tagOverrides');
        if (isNullMessage(to)) {
          ov.error('tagOverrides may not be null', 'tagOverrides', name);
          continue;
        }
        const op = to.operation ?? 'UPSERT';
        if (op === 'UPSERT' && !to.value) ov.error('tagOverrides.value must be set when operation is UPSERT', 'tagOverrides', name, 'value');
        if (op === 'REMOVE' && to.value) ov.error('tagOverrides.value may only be set when operation is UPSERT', 'tagOverrides', name, 'value');
      }
      if (o.match && o.match.customMetric !== undefined && o.match.customMetric === '') ov.error('customMetric may not be empty', 'match', 'customMetric');
    });
  });
  const tracing = t.tracing ?? [];
  if (tracing.length > 1) r.warn('multiple tracing is not currently supported', 'tracing');
  tracing.forEach((tr, i) => {
    const at = r.at('tracing', i);
    if ((tr.providers?.length ?? 0) > 1) at.warn('multiple providers is not currently supported', 'providers');
    validateProviders(at, tr.providers);
    const pct = tr.randomSamplingPercentage ?? 0;
    if (pct < 0 || pct > 100) at.error('randomSamplingPercentage must be in range [0.0, 100.0]', 'randomSamplingPercentage');
    for (const [name, tag] of Object.entries(tr.customTags ?? {})) {
      if (name === '') at.error('tag name may not be empty', 'customTags');
      if (isNullMessage(tag)) {
        at.error(`tag '${name}' may not have a nil value`, 'customTags', name);
        continue;
      }
      if (tag.literal && !tag.literal.value) at.error('literal tag value may not be empty', 'customTags', name, 'literal', 'value');
      if (tag.header && !tag.header.name) at.error('header tag name may not be empty', 'customTags', name, 'header', 'name');
      if (tag.environment && !tag.environment.name) at.error('environment tag name may not be empty', 'customTags', name, 'environment', 'name');
    }
  });
  (t.accessLogging ?? []).forEach((l, i) => {
    const at = r.at('accessLogging', i);
    if (l.filter) {
      const err = celSyntaxError(l.filter.expression ?? '');
      if (err) at.error(`must be a valid CEL expression, ${err}`, 'filter', 'expression');
    }
    validateProviders(at, l.providers);
  });
}

const WASM_SCHEMES = new Set(['', 'file', 'http', 'https', 'oci']);

/** Istio's strict URL parse: as a request URI, or as a host/path without scheme. */
function strictParseUrl(url: string): GoUrl | { error: string } {
  const direct = goUrlParseRequestURI(url);
  if (!('error' in direct)) {
    const strict = goUrlParse(url);
    return 'error' in strict ? { error: `failed to strict parse url: ${strict.error}` } : direct;
  }
  const withHttp = goUrlParseRequestURI(`http://${url}`);
  if ('error' in withHttp) return { error: `failed to parse url: parse ${JSON.stringify(url)}: ${direct.error}` };
  const strict = goUrlParse(`http://${url}`);
  return 'error' in strict ? { error: `failed to strict parse url: ${strict.error}` } : withHttp;
}

export function validateWasmPlugin(r: Report, w: WasmPlugin): void {
  validatePolicyTargets(r, w);
  // Istio stops at the first problem of each of these checks.
  const url = w.url ?? '';
  if (url === '') r.error('url field needs to be set', 'url');
  else {
    const u = strictParseUrl(url);
    if ('error' in u) r.error(u.error, 'url');
    else if (!WASM_SCHEMES.has(u.scheme)) r.error(`url contains unsupported scheme: ${u.scheme}`, 'url');
  }
  const sha = w.sha256 ?? '';
  if (sha !== '') {
    if (sha.length !== 64) r.error('sha256 field must be 64 characters long', 'sha256');
    else if (!/^[a-f0-9]{64}$/.test(sha)) r.error('sha256 field must match [a-f0-9]{64} pattern', 'sha256');
  }
  if ((w.imagePullSecret ?? '').length > 253) r.error('imagePullSecret field must be less than 253 characters long', 'imagePullSecret');
  if ((w.pluginName ?? '').length > 256) r.error('pluginName field must be less than 255 characters long', 'pluginName');
  const env = w.vmConfig?.env ?? [];
  const names = new Set<string>();
  for (let i = 0; i < env.length; i++) {
    const e = env[i]!;
    if (isNullMessage(e)) continue;
    const at = r.at('vmConfig', 'env', i);
    if (!e.name) {
      at.error('spec.vmConfig.env invalid', 'name');
      break;
    }
    if (e.name.length > 256) {
      at.error('env.name field must be less than 255 characters long', 'name');
      break;
    }
    if (names.has(e.name)) {
      at.error('duplicate env', 'name');
      break;
    }
    names.add(e.name);
    if ((e.valueFrom ?? 'INLINE') !== 'INLINE' && e.value) {
      at.error('value may only be set when valueFrom is INLINE', 'value');
      break;
    }
  }
  outer: for (const [i, sel] of (w.match ?? []).entries()) {
    for (const [j, p] of (sel.ports ?? []).entries()) {
      const n = p.number ?? 0;
      if (n <= 0 || n > 65535) {
        r.error(`spec.Match[${i}].Ports[${j}] is out of range: ${n}`, 'match', i, 'ports', j, 'number');
        break outer;
      }
    }
  }
}

const DEPRECATED_FILTER_NAMES: Record<string, string> = {
  'envoy.http_connection_manager': 'envoy.filters.network.http_connection_manager',
  'envoy.router': 'envoy.filters.http.router',
  'envoy.cors': 'envoy.filters.http.cors',
  'envoy.fault': 'envoy.filters.http.fault',
  'envoy.lua': 'envoy.filters.http.lua',
  'envoy.tcp_proxy': 'envoy.filters.network.tcp_proxy',
  'envoy.ext_authz': 'envoy.filters.http.ext_authz',
};

const LISTENER_CLASS = new Set(['LISTENER', 'FILTER_CHAIN', 'NETWORK_FILTER', 'HTTP_FILTER']);
const ROUTE_CLASS = new Set(['ROUTE_CONFIGURATION', 'VIRTUAL_HOST', 'HTTP_ROUTE']);
const HCM = 'envoy.filters.network.http_connection_manager';

/**
 * EnvoyFilter as Istio's webhook checks it. Isthmus does not apply EnvoyFilter patches, so the
 * patch value is not decoded against Envoy's protos.
 */
export function validateEnvoyFilter(r: Report, ef: net.EnvoyFilter): void {
  r.warn('EnvoyFilter exposes internal implementation details that may change at any time. Prefer other APIs if possible, and exercise extreme caution, especially around upgrades.');
  const sel = validateAlphaWorkloadSelector(ef.workloadSelector);
  if (sel.errors.length) return r.check(sel.errors, 'workloadSelector');
  if (sel.noLabels) r.warn('Envoy filter: workload selector specified without labels, will be applied to all services in namespace', 'workloadSelector');
  (ef.configPatches ?? []).forEach((cp, i) => {
    const at = r.at('configPatches', i);
    if (isNullMessage(cp)) return at.error('Envoy filter: null config patch');
    if (cp.match?.context === 'WAYPOINT') return;
    const applyTo = cp.applyTo ?? 'INVALID';
    if (applyTo === 'INVALID') return at.error('Envoy filter: missing applyTo', 'applyTo');
    if (!cp.patch) return at.error('Envoy filter: missing patch', 'patch');
    const op = cp.patch.operation ?? 'INVALID';
    if (op === 'INVALID') return at.error('Envoy filter: missing patch operation', 'patch', 'operation');
    if (op !== 'REMOVE' && (cp.patch.value === undefined || cp.patch.value === null)) {
      return at.error('Envoy filter: missing patch value for non-remove operation', 'patch', 'value');
    }
    const version = cp.match?.proxy?.proxyVersion;
    if (version) {
      if (version.length > 1024) at.warn('Envoy filter: proxyVersion match exceeds 1024 characters and will be ignored', 'match', 'proxy', 'proxyVersion');
      else {
        try {
          re2ToRegExp(version);
        } catch (e) {
          return at.error(`Envoy filter: invalid regex for proxy version, [${(e as Error).message}]`, 'match', 'proxy', 'proxyVersion');
        }
      }
    }
    const m = cp.match;
    const hasObjectMatch = m !== undefined && (m.listener ?? m.routeConfiguration ?? m.cluster ?? m.waypoint) !== undefined;
    if (LISTENER_CLASS.has(applyTo) && hasObjectMatch) {
      if (!m!.listener) return at.error('Envoy filter: applyTo for listener class objects cannot have non listener match', 'match');
      const filter = m!.listener.filterChain?.filter;
      if (filter) {
        if (applyTo === 'LISTENER' || applyTo === 'FILTER_CHAIN') at.warn(`Envoy filter: filter match has no effect when used with ${applyTo}`, 'match');
        if (!filter.name) return at.error('Envoy filter: filter match has no name to match on', 'match', 'listener', 'filterChain', 'filter');
        if (filter.subFilter) {
          if (applyTo !== 'HTTP_FILTER') return at.error('Envoy filter: subfilter match can be used with applyTo HTTP_FILTER only', 'match');
          if (filter.name !== HCM && filter.name !== 'envoy.http_connection_manager') {
            return at.error(`Envoy filter: subfilter match requires filter match with ${HCM}`, 'match');
          }
          if (!filter.subFilter.name) return at.error('Envoy filter: subfilter match has no name to match on', 'match');
        }
        for (const name of [filter.name, filter.subFilter?.name]) {
          const replacement = name ? DEPRECATED_FILTER_NAMES[name] : undefined;
          if (replacement) at.warn(`using deprecated filter name ${JSON.stringify(name)}; use ${JSON.stringify(replacement)} instead`, 'match');
        }
      }
    } else if (ROUTE_CLASS.has(applyTo) && hasObjectMatch) {
      if (!m!.routeConfiguration) at.error('Envoy filter: applyTo for http route class objects cannot have non route configuration match', 'match');
    } else if (applyTo === 'CLUSTER' && hasObjectMatch) {
      if (!m!.cluster) at.error('Envoy filter: applyTo for cluster class objects cannot have non cluster match', 'match');
    }
    const value = cp.patch.value;
    if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) {
      at.error('Envoy filter: patch value must be an object', 'patch', 'value');
    }
  });
}

export function validateProxyConfig(r: Report, pc: net.ProxyConfig): void {
  validateWorkloadSelector(r.at('selector'), pc.selector);
  if ((pc.concurrency ?? 0) < 0) r.error('concurrency must be greater than or equal to 0', 'concurrency');
}
