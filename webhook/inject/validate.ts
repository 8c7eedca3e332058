// Validation of the injection annotations on a pod, with Istio's error messages
// (pkg/kube/inject/validate.go): a bad annotation fails injection.

import { parseQuantity } from './k8s/quantity.js';
import { defaultProxyConfig, mergeProtoJson, PROXY_CONFIG, validateProxyConfig, yamlToJson } from './mesh.js';

type Validator = (value: string) => string | undefined;

function parseUint(value: string, bits: number): string | undefined {
  if (!/^\d+$/.test(value)) return `strconv.ParseUint: parsing ${JSON.stringify(value)}: invalid syntax`;
  if (BigInt(value) >= 1n << BigInt(bits)) return `strconv.ParseUint: parsing ${JSON.stringify(value)}: value out of range`;
  return undefined;
}

function parsePort(portStr: string): string | undefined {
  const e = parseUint(portStr.trim(), 16);
  return e ? `failed parsing port '${portStr}': ${e}` : undefined;
}

/** Parses a comma-separated port list; an empty string is an empty list. */
export function parsePorts(ports: string): { ports: number[] } | { error: string } {
  const s = ports.trim();
  const out: number[] = [];
  if (s.length === 0) return { ports: out };
  for (const p of s.split(',')) {
    const e = parsePort(p);
    if (e) return { error: `failed parsing port '${p}': ${e}` };
    out.push(Number(p.trim()));
  }
  return { ports: out };
}

function validatePortList(name: string, ports: string): string | undefined {
  const r = parsePorts(ports);
  return 'error' in r ? `${name} invalid: ${r.error}` : undefined;
}

/** net/netip.ParsePrefix's acceptance, with its error texts. */
export function parsePrefixError(cidr: string): string | undefined {
  const slash = cidr.lastIndexOf('/');
  if (slash < 0) return `netip.ParsePrefix(${JSON.stringify(cidr)}): no '/'`;
  const addr = cidr.slice(0, slash), bits = cidr.slice(slash + 1);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  let max: number;
  if (v4) {
    if (v4.slice(1).some(o => Number(o) > 255 || (o.length > 1 && o.startsWith('0')))) {
      return `netip.ParsePrefix(${JSON.stringify(cidr)}): ParseAddr(${JSON.stringify(addr)}): IPv4 field has value >255`;
    }
    max = 32;
  } else if (addr.includes(':') && isIPv6(addr)) {
    max = 128;
  } else {
    return `netip.ParsePrefix(${JSON.stringify(cidr)}): ParseAddr(${JSON.stringify(addr)}): unable to parse IP`;
  }
  if (!/^(0|[1-9]\d*)$/.test(bits) || Number(bits) > max) {
    return `netip.ParsePrefix(${JSON.stringify(cidr)}): bad bits after slash: ${JSON.stringify(bits)}`;
  }
  return undefined;
}

function isIPv6(s: string): boolean {
  if (s.includes('%')) return false;
  const dbl = s.split('::');
  if (dbl.length > 2) return false;
  const groups = (x: string): string[] => (x === '' ? [] : x.split(':'));
  const parts = [...groups(dbl[0]), ...(dbl.length === 2 ? groups(dbl[1]) : [])];
  let count = 0;
  for (const [i, p] of parts.entries()) {
    if (i === parts.length - 1 && p.includes('.')) {
      if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(p)) return false;
      count += 2;
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
      count += 1;
    }
  }
  return dbl.length === 2 ? count < 8 : count === 8;
}

function validateCIDRList(cidrs: string): string | undefined {
  if (cidrs.length === 0) return undefined;
  for (const cidr of cidrs.split(',')) {
    const e = parsePrefixError(cidr);
    if (e) return `failed parsing cidr '${cidr}': ${e}`;
  }
  return undefined;
}

/** pkg/util/net.ValidateInterfaceNames */
export function validateInterfaceNames(interfaces: string): string | undefined {
  if (interfaces.length === 0) return undefined;
  for (let iface of interfaces.split(',')) {
    iface = iface.trim();
    if (iface.length === 0) return 'empty interface name';
    if (iface.length > 15) return `interface name ${JSON.stringify(iface)} too long (max 15 chars)`;
    if (!/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(iface)) return `interface name ${JSON.stringify(iface)} contains invalid characters`;
  }
  return undefined;
}

const validateInterceptionMode: Validator = mode =>
  mode === 'REDIRECT' || mode === 'TPROXY' || mode === 'NONE' ? undefined : `interceptionMode invalid, use REDIRECT,TPROXY,NONE: ${mode}`;

export const validateIncludeIPRanges: Validator = v => {
  if (v === '*') return undefined;
  const e = validateCIDRList(v);
  return e ? `includeIPRanges invalid: ${e}` : undefined;
};
export const validateExcludeIPRanges: Validator = v => {
  const e = validateCIDRList(v);
  return e ? `excludeIPRanges invalid: ${e}` : undefined;
};
export const validateIncludeInboundPorts: Validator = v => (v === '*' ? undefined : validatePortList('includeInboundPorts', v));
export const validateExcludeInboundPorts: Validator = v => validatePortList('excludeInboundPorts', v);
export const validateExcludeOutboundPorts: Validator = v => validatePortList('excludeOutboundPorts', v);

const validateStatusPort: Validator = v => {
  const e = parsePort(v);
  return e ? `excludeInboundPorts invalid: ${e}` : undefined;
};

const validateBool: Validator = v =>
  ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)
    ? undefined : `strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`;

const validateQuantity: Validator = v => {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f-\x9f]/.test(v)) return 'value contains control characters';
  try {
    parseQuantity(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

const validateProxyConfigAnnotation: Validator = v => {
  const pc = defaultProxyConfig();
  try {
    mergeProtoJson(PROXY_CONFIG, pc, yamlToJson(v), 'ProxyConfig');
  } catch (e) {
    return `failed to convert to apply proxy config: ${(e as Error).message}`;
  }
  const errs = validateProxyConfig(pc);
  return errs.length ? errs.join('; ') : undefined;
};

/** AnnotationValidation: annotation name → check. */
export const ANNOTATION_VALIDATION: Record<string, Validator> = {
  'sidecar.istio.io/interceptionMode': validateInterceptionMode,
  'status.sidecar.istio.io/port': validateStatusPort,
  'readiness.status.sidecar.istio.io/initialDelaySeconds': v => parseUint(v, 32),
  'readiness.status.sidecar.istio.io/periodSeconds': v => parseUint(v, 32),
  'readiness.status.sidecar.istio.io/failureThreshold': v => parseUint(v, 32),
  'traffic.sidecar.istio.io/includeOutboundIPRanges': validateIncludeIPRanges,
  'traffic.sidecar.istio.io/excludeOutboundIPRanges': validateExcludeIPRanges,
  'traffic.sidecar.istio.io/includeInboundPorts': validateIncludeInboundPorts,
  'traffic.sidecar.istio.io/excludeInboundPorts': validateExcludeInboundPorts,
  'traffic.sidecar.istio.io/excludeOutboundPorts': validateExcludeOutboundPorts,
  'traffic.sidecar.istio.io/excludeInterfaces': validateInterfaceNames,
  'traffic.sidecar.istio.io/kubevirtInterfaces': validateInterfaceNames,
  'istio.io/reroute-virtual-interfaces': validateInterfaceNames,
  'prometheus.istio.io/merge-metrics': validateBool,
  'proxy.istio.io/config': validateProxyConfigAnnotation,
  'sidecar.istio.io/proxyCPU': validateQuantity,
  'sidecar.istio.io/proxyMemory': validateQuantity,
  'sidecar.istio.io/proxyCPULimit': validateQuantity,
  'sidecar.istio.io/proxyMemoryLimit': validateQuantity,
};

/** validateAnnotations: every invalid annotation, as Istio's multierror text; undefined when valid. */
export function validateAnnotations(annotations: Record<string, string>): string | undefined {
  const errs: string[] = [];
  for (const [name, value] of Object.entries(annotations).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const v = ANNOTATION_VALIDATION[name];
    if (!v) continue;
    const e = v(value);
    if (e) errs.push(`invalid value '${value}' for annotation '${name}': ${e}`);
  }
  if (errs.length === 0) return undefined;
  return `${errs.length} error${errs.length > 1 ? 's' : ''} occurred:\n${errs.map(e => `\t* ${e}`).join('\n')}\n\n`;
}
