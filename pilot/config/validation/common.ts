// Checks shared by Istio's validation rules: names, hosts, ports, labels, durations, addresses,
// exportTo, selectors and target references. Each returns Istio's message, or undefined.
import type { Duration } from '../schema/dsl.js';
import { isIPAddress, isIPPrefix } from '../schema/formats.js';
import { Re2Error, re2ToRegExp } from '../../util/re2.js';
import type { Report } from './report.js';

const DNS1123_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;
const DNS_LABEL_SRC = '[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?';
const QUALIFIED_NAME_SRC = '(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const TAG_KEY = new RegExp(`^(${DNS_LABEL_SRC}(?:\\.${DNS_LABEL_SRC})*/)?(${QUALIFIED_NAME_SRC})$`);
const LABEL_VALUE = new RegExp(`^(${QUALIFIED_NAME_SRC})?$`);

export const q = (s: string): string => JSON.stringify(s);

export const isDNS1123Label = (v: string): boolean => v.length <= 63 && DNS1123_LABEL.test(v);
export const isWildcardDNS1123Label = (v: string): boolean => v.length <= 63 && WILDCARD_LABEL.test(v);

/** Go's strconv.Atoi succeeds on this string. */
export const isGoInt = (s: string): boolean => /^[+-]?[0-9]+$/.test(s);

export function validatePort(port: number): string | undefined {
  return port >= 1 && port <= 65535 ? undefined : `port number ${port} must be in the range 1..65535`;
}

function dnsPreconditions(name: string): string | undefined {
  if (name.length > 255) return `domain name ${q(name)} too long (max 255)`;
  if (name.length === 0) return 'empty domain name not allowed';
  return undefined;
}

export function validateDNS1123Labels(domain: string): string | undefined {
  const parts = domain.split('.');
  const tld = parts[parts.length - 1]!;
  if (isGoInt(tld)) return `domain name ${q(domain)} invalid (top level domain ${q(tld)} cannot be all-numeric)`;
  for (let i = 0; i < parts.length; i++) {
    const label = parts[i]!;
    if (i === parts.length - 1 && label === '') return undefined;
    if (!isDNS1123Label(label)) return `domain name ${q(domain)} invalid (label ${q(label)} invalid)`;
  }
  return undefined;
}

export function validateFQDN(fqdn: string): string | undefined {
  return dnsPreconditions(fqdn) ?? validateDNS1123Labels(fqdn);
}

/** A domain that may have a wildcard in its first label. */
export function validateWildcardDomain(domain: string): string | undefined {
  const pre = dnsPreconditions(domain);
  if (pre) return pre;
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (!isWildcardDNS1123Label(first)) return `domain name ${q(domain)} invalid (label ${q(first)} invalid)`;
  return dot < 0 ? undefined : validateDNS1123Labels(domain.slice(dot + 1));
}

const OUTBOUND_SNI_FORMAT = 'outbound_.<PORT>_._.<HOSTNAME>';

/** Hosts of a VirtualService bound to gateways: also Istio's auto-generated `outbound_.PORT_._.HOST` SNI names. */
export function validateWildcardDomainForGatewayVS(sni: boolean, domain: string): string | undefined {
  const pre = dnsPreconditions(domain);
  if (pre) return pre;
  if (sni && domain.startsWith('outbound_')) {
    const parts = domain.split('_');
    if (parts.length < 4) return `domain name ${domain} invalid, should follow '${OUTBOUND_SNI_FORMAT}' format`;
    const direction = parts[0]!;
    const port = parts[1]!.replace(/^\.+|\.+$/g, '');
    const hostname = parts[3]!.replace(/^\.+|\.+$/g, '');
    if (direction !== 'outbound') return `domain name ${q(domain)} invalid (label ${q(direction)} invalid)`;
    if (!/[0-9]/.test(port)) return `domain name ${q(domain)} invalid (label ${q(port)} invalid). should follow ${OUTBOUND_SNI_FORMAT} format`;
    if (!/[a-zA-Z]/.test(hostname)) return `domain name ${q(domain)} invalid (label ${q(hostname)} invalid). should follow ${OUTBOUND_SNI_FORMAT} format`;
    return undefined;
  }
  return validateWildcardDomain(domain);
}

export function validatePartialWildcard(host: string): string | undefined {
  return host.includes('*') && host.length !== 1 && !host.startsWith('*.') ? `partial wildcard ${q(host)} not allowed` : undefined;
}

function sidecarOrGatewayHostnamePart(hostname: string, isGateway: boolean): string[] {
  const errs: string[] = [];
  if (hostname !== '*' && !hostname.includes('.')) errs.push('short names (non FQDN) are not allowed');
  const err = validateWildcardDomain(hostname);
  if (err) {
    if (!isGateway) errs.push(err);
    // Gateways also accept an IP address as the host.
    if (!isIPAddress(hostname)) errs.push(err);
  }
  const partial = validatePartialWildcard(hostname);
  if (partial) errs.push(partial);
  return errs;
}

/** Gateway server hosts and Sidecar egress hosts: `namespace/dnsName`. */
export function validateNamespaceSlashWildcardHostname(hostname: string, isGateway: boolean, gatewaySemantics = false): string[] {
  const slash = hostname.indexOf('/');
  if (slash < 0) {
    if (isGateway) return sidecarOrGatewayHostnamePart(hostname, true);
    return ['host must be of form namespace/dnsName'];
  }
  const ns = hostname.slice(0, slash);
  const name = hostname.slice(slash + 1);
  const errs: string[] = [];
  if (ns.length === 0 || name.length === 0) errs.push('config namespace and dnsName in host entry cannot be empty');
  if (!isGateway) {
    const bare = ns.startsWith('~') ? ns.slice(1) : ns;
    if (bare !== '' && bare !== '*' && bare !== '.' && !isDNS1123Label(bare)) errs.push(`invalid namespace value ${q(ns)} in sidecar`);
  } else if (ns !== '*' && ns !== '.' && (ns !== '~' || !gatewaySemantics)) {
    if (!isDNS1123Label(ns)) errs.push(`invalid namespace value ${q(ns)} in gateway`);
  }
  errs.push(...sidecarOrGatewayHostnamePart(name, isGateway));
  return errs;
}

/** Kubernetes label keys and values (Istio's labels.Instance.Validate). */
export function validateLabels(labels: Record<string, string> | undefined): string[] {
  const errs: string[] = [];
  for (const k of Object.keys(labels ?? {}).sort()) {
    const m = TAG_KEY.exec(k);
    if (!m) errs.push(`invalid tag key: ${q(k)}`);
    else if (m[1] && m[1].length - 1 > 253) errs.push(`invalid tag key: ${q(k)} (DNS prefix is too long)`);
    else if (m[2]!.length > 63) errs.push(`invalid tag key: ${q(k)} (name is too long)`);
    if (!LABEL_VALUE.test(labels![k]!)) errs.push(`invalid tag value: ${q(labels![k]!)}`);
  }
  return errs;
}

/** Istio's ValidateDuration: at least 1ms, in whole milliseconds. */
export function validateDuration(d: Duration): string | undefined {
  const nanos = Math.round(d.seconds * 1e9);
  if (nanos < 1e6) return 'duration must be greater than 1ms';
  if (nanos % 1e6 !== 0) return 'only durations to ms precision are supported';
  return undefined;
}

export function validateIPAddress(addr: string): string | undefined {
  return isIPAddress(addr) ? undefined : `${addr} is not a valid IP`;
}

/** "a.b.c.d/xx" or "2001:1::1/64" or a plain address. */
export function validateIPSubnet(subnet: string): string | undefined {
  if (subnet.split('/').length === 2) return isIPPrefix(subnet) ? undefined : `${subnet} is not a valid CIDR block`;
  return validateIPAddress(subnet);
}

export function validatePercent(val: number | undefined): string | undefined {
  const v = val ?? 0;
  return v < 0 || v > 100 ? `percentage ${v} is not in range 0..100` : undefined;
}

export function validateUnixAddress(addr: string): string | undefined {
  if (addr.length === 0) return 'unix address must not be empty';
  if (addr.startsWith('@')) return undefined;
  if (!addr.startsWith('/') || addr.endsWith('/')) return `${addr} is not an absolute path to a file`;
  return undefined;
}

export const UNIX_PREFIX = 'unix://';

export function validatePortName(name: string): string | undefined {
  return isDNS1123Label(name) ? undefined : `invalid port name: ${name}`;
}

/** Istio's protocol names (case-insensitive). */
export type Protocol = 'TCP' | 'UDP' | 'GRPC' | 'GRPC-Web' | 'HTTP' | 'HTTP_PROXY' | 'HTTP2' | 'HTTPS' | 'TLS' | 'Mongo' | 'Redis' | 'MySQL' | 'Unsupported';

const PROTOCOLS: Record<string, Protocol> = {
  tcp: 'TCP', udp: 'UDP', grpc: 'GRPC', 'grpc-web': 'GRPC-Web', http: 'HTTP', http_proxy: 'HTTP_PROXY', http2: 'HTTP2',
  https: 'HTTPS', tls: 'TLS', mongo: 'Mongo', redis: 'Redis', mysql: 'MySQL',
};

export const parseProtocol = (s: string | undefined): Protocol => PROTOCOLS[(s ?? '').toLowerCase()] ?? 'Unsupported';
export const isHTTP = (p: Protocol): boolean => ['HTTP', 'HTTP2', 'HTTP_PROXY', 'GRPC', 'GRPC-Web'].includes(p);
export const isTCP = (p: Protocol): boolean => ['TCP', 'HTTPS', 'TLS', 'Mongo', 'Redis', 'MySQL'].includes(p);
export const isTLS = (p: Protocol): boolean => p === 'HTTPS' || p === 'TLS';

export function validateProtocol(protocol: string | undefined): string | undefined {
  if (protocol && parseProtocol(protocol) === 'Unsupported') return `unsupported protocol: ${protocol}`;
  return undefined;
}

/** exportTo values: `.`, `*`, `~` (ServiceEntry only) or namespaces, without duplicates. */
export function validateExportTo(namespace: string, exportTo: string[] | undefined, isServiceEntry: boolean, isDRWithSelector: boolean): string[] {
  const errs: string[] = [];
  if (!exportTo?.length) return errs;
  const set = new Set<string>();
  for (const e of exportTo) {
    const key = e === '.' ? namespace : e;
    if (set.has(key)) {
      errs.push(key !== e ? `duplicate entries in exportTo: . and current namespace ${namespace}` : `duplicate entries in exportTo for entry ${e}`);
    } else if (isServiceEntry && e === '~') {
      set.add(key);
    } else {
      const err =
        key === '.' || key === '*'
          ? undefined
          : key === '~'
            ? 'exportTo ~ (none) is not allowed for Istio configuration objects'
            : isDNS1123Label(key)
              ? undefined
              : 'only .,*, or a valid DNS 1123 label is allowed as exportTo entry';
      if (err) errs.push(err);
      else set.add(key);
    }
  }
  if (isDRWithSelector && set.size > 0) {
    if (set.has(namespace)) {
      if (set.size > 1) errs.push('destination rule with workload selector cannot have multiple entries in exportTo');
    } else {
      errs.push('destination rule with workload selector cannot have exportTo beyond current namespace');
    }
  }
  if (set.has('*') && exportTo.length > 1) errs.push('cannot have both public (*) and non-public exportTo values for a resource');
  if (set.has('~') && exportTo.length > 1) errs.push('cannot export service entry to no one (~) and someone');
  return errs;
}

/** istio.type.v1beta1.WorkloadSelector: errors, and a warning for a selector without labels. */
export function validateWorkloadSelector(r: Report, selector: { matchLabels?: Record<string, string> } | undefined): void {
  if (!selector) return;
  const labels = selector.matchLabels ?? {};
  for (const [k, v] of Object.entries(labels)) {
    if (k === '') r.error(`empty key is not supported in selector: ${q(`${k}=${v}`)}`, 'matchLabels');
    if (k.includes('*') || v.includes('*')) r.error(`wildcard is not supported in selector: ${q(`${k}=${v}`)}`, 'matchLabels', k);
  }
  if (Object.keys(labels).length === 0) r.warn('workload selector specified without labels');
}

/** networking.v1alpha3.WorkloadSelector: errors, and whether it has no labels (the callers' warning). */
export function validateAlphaWorkloadSelector(selector: { labels?: Record<string, string> } | undefined): { errors: string[]; noLabels: boolean } {
  const errors: string[] = [];
  if (!selector) return { errors, noLabels: false };
  const labels = selector.labels ?? {};
  for (const [k, v] of Object.entries(labels)) {
    if (k === '') errors.push(`empty key is not supported in selector: ${q(`${k}=${v}`)}`);
    if (k.includes('*') || v.includes('*')) errors.push(`wildcard is not supported in selector: ${q(`${k}=${v}`)}`);
  }
  return { errors, noLabels: Object.keys(labels).length === 0 };
}

export interface TargetRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
}

const ALLOWED_TARGET_REFS: [string, string][] = [
  ['core', 'Service'],
  ['networking.istio.io', 'ServiceEntry'],
  ['gateway.networking.k8s.io', 'Gateway'],
  ['gateway.networking.k8s.io', 'GatewayClass'],
];
const ALLOWED_TARGET_REFS_TEXT =
  '[core/v1/Service networking.istio.io/v1/ServiceEntry gateway.networking.k8s.io/v1/Gateway gateway.networking.k8s.io/v1/GatewayClass]';

export function validateTargetRef(r: Report, ref: TargetRef | undefined): void {
  if (!ref) return;
  if (!ref.name) r.error('targetRef name must be set', 'name');
  if (ref.namespace) r.error('targetRef namespace must not be set; cross namespace referencing is not supported', 'namespace');
  const group = ref.group || 'core';
  if (!ALLOWED_TARGET_REFS.some(([g, k]) => g === group && k === ref.kind)) {
    r.error(`targetRef must be to one of ${ALLOWED_TARGET_REFS_TEXT} but was ${ref.group ?? ''}/${ref.kind ?? ''}`, 'kind');
  }
}

/** Selector, targetRef and targetRefs of the policy kinds: at most one, each valid. */
export function validatePolicyTargets(
  r: Report,
  spec: { selector?: { matchLabels?: Record<string, string> }; targetRef?: TargetRef; targetRefs?: TargetRef[] },
): void {
  const set = (spec.selector ? 1 : 0) + (spec.targetRef ? 1 : 0) + (spec.targetRefs?.length ? 1 : 0);
  if (set > 1) r.error('only one of targetRefs or workloadSelector can be set');
  validateWorkloadSelector(r.at('selector'), spec.selector);
  validateTargetRef(r.at('targetRef'), spec.targetRef);
  (spec.targetRefs ?? []).forEach((ref, i) => validateTargetRef(r.at('targetRefs', i), ref));
}

/** An RE2 regex Envoy will accept (Istio compiles it with Go's regexp). */
export function validateRegex(re: string, where: string): string | undefined {
  if (re.length > 1024) return `${q(where)}: regex is too large, max length allowed is 1024`;
  try {
    re2ToRegExp(re);
    return undefined;
  } catch (e) {
    const why = e instanceof Re2Error ? e.message : String(e);
    return `${q(where)}: ${why}; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)`;
  }
}
