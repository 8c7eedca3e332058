// Istio's MeshConfig in its protobuf-JSON form (the `mesh` file, as istiod reads it) → the
// fields of it translation uses. Enums come as names or numbers, durations as "10s".
import { HTTPRetry, LoadBalancerSettings, LocalityLoadBalancerSetting } from '../config/schema/networking.js';
import { formatPath, parseWith } from '../config/schema/dsl.js';
import type { LabelSelector } from '../config/schema/gateway-api.js';
import { defaultMeshConfig, OUTBOUND_TRAFFIC_POLICY_MODES, PATH_NORMALIZATIONS, type MeshConfig, type OutboundTrafficPolicyMode, type PathNormalization } from './mesh.js';

export interface MeshConversion {
  mesh: MeshConfig;
  /** Fields Istio knows that translation does not read (yet). */
  ignored: string[];
  /** Values Istio would reject. */
  errors: string[];
}

/** MeshConfig.OutboundTrafficPolicy.Mode numbers (2 is unused). */
const OUTBOUND_MODE_NUMBERS: Record<number, OutboundTrafficPolicyMode> = { 0: 'REGISTRY_ONLY', 1: 'ALLOW_ANY', 3: 'ALLOW_ANY_DYNAMIC_DNS' };
const INBOUND_MODES = ['PASSTHROUGH', 'LOCALHOST'] as const;

function enumValue<T extends string>(value: unknown, names: readonly T[], numbers: Record<number, T>): T | undefined {
  if (typeof value === 'number') return numbers[value];
  return names.find((n) => n === value);
}

/** google.protobuf.Duration's JSON form: "10s", "0.5s", "-1.2s". */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(-?\d+(?:\.\d{1,9})?)s$/.exec(value.trim());
  return m ? Number(m[1]) : undefined;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? [...value] : undefined;
}

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** A list of metav1.LabelSelector, or why it is not one. */
function labelSelectors(value: unknown): LabelSelector[] | string {
  if (!Array.isArray(value)) return 'not a list of label selectors';
  const out: LabelSelector[] = [];
  for (const [i, sel] of value.entries()) {
    if (!sel || typeof sel !== 'object' || Array.isArray(sel)) return `[${i}]: not a label selector`;
    const { matchLabels, matchExpressions } = sel as { matchLabels?: unknown; matchExpressions?: unknown };
    if (matchLabels !== undefined && (typeof matchLabels !== 'object' || matchLabels === null || Object.values(matchLabels).some((v) => typeof v !== 'string'))) return `[${i}].matchLabels: not a map of strings`;
    const expressions = (matchExpressions ?? []) as { key?: unknown; operator?: unknown; values?: unknown }[];
    if (!Array.isArray(expressions)) return `[${i}].matchExpressions: not a list`;
    for (const [j, e] of expressions.entries()) {
      if (typeof e?.key !== 'string' || !SELECTOR_OPERATORS.includes(e.operator as string)) return `[${i}].matchExpressions[${j}]: needs a key and an operator (${SELECTOR_OPERATORS.join(', ')})`;
      const values = stringList(e.values ?? []);
      if (!values) return `[${i}].matchExpressions[${j}].values: not a list of strings`;
      if ((e.operator === 'In' || e.operator === 'NotIn') !== values.length > 0) return `[${i}].matchExpressions[${j}]: ${e.operator} ${e.operator === 'In' || e.operator === 'NotIn' ? 'needs' : 'takes no'} values`;
    }
    out.push(sel as LabelSelector);
  }
  return out;
}

/** Applies `json` over `base` (Istio's defaults unless given). */
export function meshConfigFromJson(json: Record<string, unknown>, base: MeshConfig = defaultMeshConfig()): MeshConversion {
  const mesh: MeshConfig = { ...base };
  const ignored: string[] = [];
  const errors: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (value === undefined || value === null) continue;
    switch (key) {
      case 'rootNamespace':
      case 'trustDomain':
        if (typeof value === 'string') mesh[key] = value;
        else errors.push(`${key}: not a string`);
        break;
      case 'trustDomainAliases':
      case 'defaultServiceExportTo':
      case 'defaultVirtualServiceExportTo':
      case 'defaultDestinationRuleExportTo': {
        const list = stringList(value);
        if (list) mesh[key] = list;
        else errors.push(`${key}: not a list of strings`);
        break;
      }
      case 'connectTimeout':
      case 'protocolDetectionTimeout': {
        const seconds = durationSeconds(value);
        if (seconds === undefined) errors.push(`${key}: not a duration: ${JSON.stringify(value)}`);
        else if (key === 'connectTimeout') mesh.connectTimeoutSeconds = seconds;
        else mesh.protocolDetectionTimeoutSeconds = seconds;
        break;
      }
      case 'outboundTrafficPolicy': {
        const { mode = 'REGISTRY_ONLY', ...rest } = value as { mode?: unknown };
        const parsed = enumValue(mode, OUTBOUND_TRAFFIC_POLICY_MODES, OUTBOUND_MODE_NUMBERS);
        if (parsed) mesh.outboundTrafficPolicy = parsed;
        else errors.push(`outboundTrafficPolicy.mode: unknown value ${JSON.stringify(mode)}`);
        for (const k of Object.keys(rest)) ignored.push(`outboundTrafficPolicy.${k}`);
        break;
      }
      case 'inboundTrafficPolicy': {
        const { mode = 'PASSTHROUGH', ...rest } = value as { mode?: unknown };
        const parsed = enumValue(mode, INBOUND_MODES, { 0: 'PASSTHROUGH', 1: 'LOCALHOST' });
        if (parsed) mesh.inboundTrafficPolicy = parsed;
        else errors.push(`inboundTrafficPolicy.mode: unknown value ${JSON.stringify(mode)}`);
        for (const k of Object.keys(rest)) ignored.push(`inboundTrafficPolicy.${k}`);
        break;
      }
      case 'localityLbSetting':
      case 'zoneAwareLbSetting': {
        // The same messages as a DestinationRule's loadBalancer fields.
        const parsed =
          key === 'localityLbSetting' ? parseWith(LocalityLoadBalancerSetting, value, [key]) : parseWith(LoadBalancerSettings.fields.zoneAwareLbSetting, value, [key]);
        if (parsed.value && key === 'localityLbSetting') mesh.localityLbSetting = parsed.value as MeshConfig['localityLbSetting'];
        else if (parsed.value) mesh.zoneAwareLbSetting = parsed.value as MeshConfig['zoneAwareLbSetting'];
        else errors.push(...parsed.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
        break;
      }
      case 'defaultHttpRetryPolicy': {
        // The same message as a VirtualService route's `retries`.
        const parsed = parseWith(HTTPRetry, value, [key]);
        if (parsed.value) mesh.defaultHttpRetryPolicy = parsed.value as MeshConfig['defaultHttpRetryPolicy'];
        else errors.push(...parsed.issues.map((i) => `${formatPath(i.path)}: ${i.message}`));
        break;
      }
      case 'pathNormalization': {
        if (typeof value !== 'object' || Array.isArray(value)) {
          errors.push('pathNormalization: not an object, e.g. {normalization: MERGE_SLASHES}');
          break;
        }
        const { normalization: given, ...rest } = value as { normalization?: unknown };
        const normalization = given ?? 'DEFAULT';
        // The enum's numbers in Istio's proto, for configs written with them.
        const byNumber: Record<number, string> = { 0: 'DEFAULT', 1: 'NONE', 2: 'BASE', 3: 'MERGE_SLASHES', 4: 'DECODE_AND_MERGE_SLASHES' };
        const name = typeof normalization === 'number' ? byNumber[normalization] : normalization;
        if (name === 'DEFAULT') mesh.pathNormalization = 'BASE';
        else if (PATH_NORMALIZATIONS.includes(name as PathNormalization)) mesh.pathNormalization = name as PathNormalization;
        else errors.push(`pathNormalization.normalization: unknown value ${JSON.stringify(normalization)}`);
        for (const k of Object.keys(rest)) ignored.push(`pathNormalization.${k}`);
        break;
      }
      case 'discoverySelectors': {
        const selectors = labelSelectors(value);
        if (typeof selectors === 'string') errors.push(`discoverySelectors: ${selectors}`);
        else mesh.discoverySelectors = selectors;
        break;
      }
      case 'extensionProviders':
        // Kept as written: each consumer (ext_authz today) validates the providers of its kind, as istiod does.
        if (Array.isArray(value) && value.every((v) => v && typeof v === 'object' && !Array.isArray(v))) mesh.extensionProviders = value as Record<string, unknown>[];
        else errors.push(`${key}: not a list of objects`);
        break;
      default:
        ignored.push(key);
    }
  }
  return { mesh, ignored, errors };
}
