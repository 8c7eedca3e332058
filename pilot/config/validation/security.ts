// security.istio.io: AuthorizationPolicy (sources, operations, conditions, CUSTOM/DENY rules),
// RequestAuthentication (JWT rules), PeerAuthentication (mTLS modes per port).
import type { ObjectMeta } from '../resource.js';
import { isNullMessage } from '../schema/dsl.js';
import type * as sec from '../schema/security.js';
import { goUrlParse, isIPAddress, isIPPrefix, urlPort } from '../schema/formats.js';
import { q, validateDuration, validatePolicyTargets, validateWorkloadSelector } from './common.js';
import { validateStrictHeaderName } from './http.js';
import { Report } from './report.js';

const MATCH_ONE = '{*}';
const MATCH_ANY = '{**}';
const PATH_LITERAL = /^[a-zA-Z0-9-._~%!$&'()+,;:@=]+$/;

function checkEmpty(key: string, values: string[] | undefined): string | undefined {
  return (values ?? []).some((v) => v === '') ? `empty value not allowed, found in ${key}` : undefined;
}

function checkWildcards(key: string, values: string[] | undefined): string | undefined {
  const empty = checkEmpty(key, values);
  if (empty) return empty;
  for (const v of values ?? []) {
    const n = v.split('*').length - 1;
    if (n > 1) return `at most one wildcard is allowed, found in ${key}: ${q(v)}`;
    if (n === 1 && v !== '*' && !v.startsWith('*') && !v.endsWith('*')) return `wildcard is only allowed at the start or end, found in ${key}: ${q(v)}`;
  }
  return undefined;
}

function checkTrustDomains(key: string, values: string[] | undefined): string | undefined {
  const err = checkWildcards(key, values);
  if (err) return err;
  const bad = (values ?? []).find((v) => v.includes('/'));
  return bad === undefined ? undefined : `trust domain must not contain '/', found in ${key}: ${q(bad)}`;
}

function checkServiceAccounts(key: string, values: string[] | undefined): string | undefined {
  const vs = values ?? [];
  if (vs.length > 16) return 'may not have more than 16 values';
  const format = "expected format 'serviceAccount' or 'namespace/serviceAccount'";
  for (const v of vs) {
    if (v === '') return `empty value not allowed, found in ${key}`;
    if (v.includes('*')) return `wildcard not allowed, found in ${key}`;
    const slashes = v.split('/').length - 1;
    if (slashes > 1) return `${format}, found ${q(v)} in ${key}`;
    if (v.length > 320) return `value cannot exceed 320 characters, found ${q(v)} in ${key}`;
    if (slashes === 1) {
      const [ns, sa] = v.split('/') as [string, string];
      if (!ns) return `${format}, found empty namespace ${q(v)} in ${key}`;
      if (!sa) return `${format}, found empty serviceAccount ${q(v)} in ${key}`;
    }
  }
  return undefined;
}

function checkPathTemplates(key: string, paths: string[] | undefined): string | undefined {
  for (const original of paths ?? []) {
    const hasTemplate = original.includes(MATCH_ONE) || original.includes(MATCH_ANY);
    const path = original.replace(/^\/+|\/+$/g, '');
    let anySeen = false;
    for (const glob of path.split('/')) {
      if (glob === MATCH_ONE && !anySeen) continue;
      if (glob === MATCH_ANY && !anySeen) {
        anySeen = true;
        continue;
      }
      if ((glob === MATCH_ANY || glob === MATCH_ONE) && anySeen) {
        return `invalid or unsupported path ${path}, found in ${key}. {**} is not the last operator`;
      }
      if (/[{}]/.test(glob)) return `invalid or unsupported path ${path}, found in ${key}. Contains '{' or '}' beyond a supported path template`;
      if (hasTemplate && !PATH_LITERAL.test(glob)) {
        return `invalid or unsupported path ${path}, found in ${key}. Contains segment ${glob} with invalid string literal`;
      }
    }
  }
  return undefined;
}

function validateIPs(ips: string[] | undefined): string[] {
  const errs: string[] = [];
  for (const v of ips ?? []) {
    if (v.includes('/')) {
      if (!isIPPrefix(v)) errs.push(`bad CIDR range (${v}): netip.ParsePrefix(${q(v)}): invalid prefix`);
    } else if (!isIPAddress(v)) {
      errs.push(`bad IP address (${v})`);
    }
  }
  return errs;
}

function validatePorts(ports: string[] | undefined): string[] {
  const errs: string[] = [];
  for (const p of ports ?? []) {
    if (!/^[0-9]+$/.test(p)) errs.push(`bad port (${p}): strconv.ParseUint: parsing ${q(p)}: invalid syntax`);
    else if (Number(p) > 65535) errs.push(`bad port (${p}): <nil>`);
  }
  return errs;
}

function validateMapKey(key: string): string | undefined {
  const open = key.indexOf('[');
  return key.endsWith(']') && open > 0 && open < key.length - 2 ? undefined : `bad key (${key}): should have format a[b]`;
}

/** A `when` condition's values for its key. */
function validateAttribute(key: string, values: string[] | undefined): string | undefined {
  const empty = checkEmpty(key, values);
  if (empty) return empty;
  const first = (errs: string[]) => (errs.length ? errs.join('; ') : undefined);
  if (key.startsWith('request.headers')) return validateMapKey(key);
  switch (key) {
    case 'source.ip':
    case 'remote.ip':
    case 'destination.ip':
      return first(validateIPs(values));
    case 'source.namespace':
    case 'source.principal':
    case 'request.auth.principal':
    case 'request.auth.audiences':
    case 'request.auth.presenter':
    case 'connection.sni':
      return undefined;
    case 'source.serviceAccount':
      return checkServiceAccounts(key, values);
    case 'source.trustDomain':
      return checkWildcards(key, values);
    case 'destination.port':
      return first(validatePorts(values));
    case 'destination.namespace':
      return `attribute ${key} is replaced by the metadata.namespace`;
    case 'destination.name':
    case 'destination.user':
      return `deprecated attribute ${key}: only supported in v1alpha1`;
  }
  if (key.startsWith('request.auth.claims')) return validateMapKey(key);
  if (key.startsWith('experimental.envoy.filters.')) return validateMapKey(key);
  if (key.startsWith('destination.labels')) return `attribute ${key} is replaced by the workload selector`;
  return `unknown attribute: ${key}`;
}

const SOURCE_FIELDS = [
  'principals', 'requestPrincipals', 'namespaces', 'ipBlocks', 'remoteIpBlocks', 'notPrincipals', 'notRequestPrincipals', 'notNamespaces',
  'notIpBlocks', 'notRemoteIpBlocks', 'serviceAccounts', 'notServiceAccounts', 'trustDomains', 'notTrustDomains',
] as const;
const TCP_SOURCE_FIELDS = [
  'notPrincipals', 'principals', 'ipBlocks', 'notIpBlocks', 'namespaces', 'notNamespaces', 'remoteIpBlocks', 'notRemoteIpBlocks',
  'serviceAccounts', 'notServiceAccounts',
] as const;
const OPERATION_FIELDS = ['ports', 'methods', 'paths', 'hosts', 'notPorts', 'notMethods', 'notPaths', 'notHosts'] as const;
const CUSTOM_UNSUPPORTED_SOURCE: [keyof sec.Source, string][] = [
  ['namespaces', 'From.Namespaces'], ['notNamespaces', 'From.NotNamespaces'], ['serviceAccounts', 'From.ServiceAccounts'],
  ['notServiceAccounts', 'From.NotServiceAccounts'], ['trustDomains', 'From.TrustDomains'], ['notTrustDomains', 'From.NotTrustDomains'],
  ['principals', 'From.Principals'], ['notPrincipals', 'From.NotPrincipals'], ['requestPrincipals', 'From.RequestPrincipals'],
  ['notRequestPrincipals', 'From.NotRequestPrincipals'],
];
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

function validateSource(r: Report, src: sec.Source, i: number): void {
  if ((src.principals?.length ?? 0) + (src.notPrincipals?.length ?? 0) + (src.namespaces?.length ?? 0) + (src.notNamespaces?.length ?? 0) > 0 &&
      (src.serviceAccounts?.length ?? 0) + (src.notServiceAccounts?.length ?? 0) > 0) {
    r.error(`cannot set serviceAccounts with namespaces or principals, found at rule ${i}`);
  }
  if (SOURCE_FIELDS.every((f) => !src[f]?.length)) r.error(`\`from.source\` must not be empty, found at rule ${i}`);
  for (const f of ['ipBlocks', 'notIpBlocks', 'remoteIpBlocks', 'notRemoteIpBlocks'] as const) r.check(validateIPs(src[f]), f);
  for (const f of ['principals', 'requestPrincipals', 'namespaces'] as const) r.check(checkEmpty(cap(f), src[f]), f);
  r.check(checkServiceAccounts('ServiceAccounts', src.serviceAccounts), 'serviceAccounts');
  r.check(checkTrustDomains('TrustDomains', src.trustDomains), 'trustDomains');
  for (const f of ['ipBlocks', 'remoteIpBlocks', 'notPrincipals', 'notRequestPrincipals', 'notNamespaces'] as const) r.check(checkEmpty(cap(f), src[f]), f);
  r.check(checkServiceAccounts('NotServiceAccounts', src.notServiceAccounts), 'notServiceAccounts');
  r.check(checkTrustDomains('NotTrustDomains', src.notTrustDomains), 'notTrustDomains');
  for (const f of ['notIpBlocks', 'notRemoteIpBlocks'] as const) r.check(checkEmpty(cap(f), src[f]), f);
}

function validateOperation(r: Report, op: sec.Operation, i: number): void {
  if (OPERATION_FIELDS.every((f) => !op[f]?.length)) r.error(`\`to.operation\` must not be empty, found at rule ${i}`);
  r.check(validatePorts(op.ports), 'ports');
  r.check(validatePorts(op.notPorts), 'notPorts');
  for (const f of OPERATION_FIELDS) r.check(checkEmpty(cap(f), op[f]), f);
  r.check(checkPathTemplates('Paths', op.paths), 'paths');
  r.check(checkPathTemplates('NotPaths', op.notPaths), 'notPaths');
}

function validateAuthzRules(r: Report, ap: sec.AuthorizationPolicy): void {
  const action = ap.action ?? 'ALLOW';
  (ap.rules ?? []).forEach((rule, i) => {
    const at = r.at('rules', i);
    if (isNullMessage(rule)) return at.error(`\`rule\` must not be nil, found at rule ${i}`);
    if (rule.from !== undefined && rule.from.length === 0) at.error(`\`from\` must not be empty, found at rule ${i}`, 'from');
    let tcpInFrom = false;
    let tcpInTo = false;
    let fromExists = false;
    let toExists = false;
    (rule.from ?? []).forEach((from, j) => {
      if (!from.source) return at.error(`\`from.source\` must not be nil, found at rule ${i}`, 'from', j);
      fromExists = true;
      validateSource(at.at('from', j, 'source'), from.source, i);
      if (TCP_SOURCE_FIELDS.some((f) => from.source![f] !== undefined)) tcpInFrom = true;
    });
    if (rule.to !== undefined && rule.to.length === 0) at.error(`\`to\` must not be empty, found at rule ${i}`, 'to');
    (rule.to ?? []).forEach((to, j) => {
      if (!to.operation) return at.error(`\`to.operation\` must not be nil, found at rule ${i}`, 'to', j);
      toExists = true;
      validateOperation(at.at('to', j, 'operation'), to.operation, i);
      if (to.operation.ports !== undefined || to.operation.notPorts !== undefined) tcpInTo = true;
    });
    (rule.when ?? []).forEach((cond, j) => {
      const key = cond.key ?? '';
      if (key === '') return at.error('`key` must not be empty', 'when', j, 'key');
      if (!cond.values?.length && !cond.notValues?.length) return at.error(`at least one of \`values\` or \`notValues\` must be set for key ${key}`, 'when', j);
      const v = validateAttribute(key, cond.values);
      if (v) at.error(`invalid \`value\` for \`key\` ${key}: ${v}`, 'when', j, 'values');
      const nv = validateAttribute(key, cond.notValues);
      if (nv) at.error(`invalid \`notValue\` for \`key\` ${key}: ${nv}`, 'when', j, 'notValues');
    });
    if (((fromExists && !toExists && !tcpInFrom) || (toExists && !tcpInTo)) && action === 'DENY') {
      at.warn(
        'configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly specify the port',
      );
    }
  });
}

export function validateAuthorizationPolicy(r: Report, ap: sec.AuthorizationPolicy, meta: ObjectMeta): void {
  // Istio prefixes every error (not the warnings) with the policy's name.
  const errors = new Report();
  validatePolicyTargets(errors, ap);
  const action = ap.action ?? 'ALLOW';
  if (action === 'CUSTOM') {
    if (ap.rules === undefined) {
      errors.error('CUSTOM action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request', 'rules');
    } else if (!ap.provider?.name) {
      errors.error('`provider.name` must not be empty', 'provider');
    }
    (ap.rules ?? []).forEach((rule, i) => {
      for (const from of rule.from ?? []) {
        for (const [f, name] of CUSTOM_UNSUPPORTED_SOURCE) {
          if (from.source?.[f]?.length) errors.error(`${name} is currently not supported with CUSTOM action`, 'rules', i, 'from');
        }
      }
      for (const cond of rule.when ?? []) {
        const key = cond.key ?? '';
        if (['source.namespace', 'source.serviceAccount', 'source.trustDomain', 'source.principal'].includes(key) || key.startsWith('request.auth.')) {
          errors.error(`${key} is currently not supported with CUSTOM action`, 'rules', i, 'when');
        }
      }
    });
  }
  if (ap.provider && action !== 'CUSTOM') errors.error(`\`provider\` must not be with non CUSTOM action, found ${action}`, 'provider');
  if (action === 'DENY' && ap.rules === undefined) {
    errors.error('DENY action without `rules` is meaningless as it will never be triggered, add an empty rule `{}` if you want it be triggered for every request', 'rules');
  }
  validateAuthzRules(errors, ap);
  for (const issue of errors.issues) {
    if (issue.severity === 'warning') r.issues.push(issue);
    else r.issues.push({ ...issue, message: `invalid policy ${meta.name}.${meta.namespace}: ${issue.message}` });
  }
}

/** A JWKS document as Envoy reads it: a key set or a single key. Returns the keys, or an error. */
function parseJwks(text: string): { keys: Record<string, unknown>[] } | { error: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { error: `failed to unmarshal JWK set: ${(e as Error).message}` };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return { error: 'failed to unmarshal JWK set: not an object' };
  const keys = 'keys' in doc ? (doc as { keys: unknown }).keys : [doc];
  if (!Array.isArray(keys)) return { error: 'failed to unmarshal JWK set: keys is not a list' };
  const required: Record<string, string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'], oct: ['k'] };
  for (const k of keys) {
    if (!k || typeof k !== 'object') return { error: 'failed to parse key: not an object' };
    const kty = (k as Record<string, unknown>).kty;
    if (typeof kty !== 'string' || !required[kty]) return { error: `failed to parse key: invalid key type ${JSON.stringify(kty)}` };
    const missing = required[kty]!.find((f) => typeof (k as Record<string, unknown>)[f] !== 'string');
    if (missing) return { error: `failed to parse key: required field ${missing} is missing` };
  }
  return { keys: keys as Record<string, unknown>[] };
}

function validateJwtRule(r: Report, rule: sec.JWTRule): void {
  (rule.audiences ?? []).forEach((a, i) => {
    if (!a) r.error('audience must be non-empty string', 'audiences', i);
  });
  if (!rule.issuer && !rule.jwksUri) r.error('issuer or jwksUri must be non-empty string');
  if (rule.jwksUri) {
    const u = goUrlParse(rule.jwksUri);
    if ('error' in u) r.error(`parse ${q(rule.jwksUri)}: ${u.error}`, 'jwksUri');
    else if (u.scheme !== 'http' && u.scheme !== 'https') r.error(`URI scheme ${q(u.scheme)} is not supported`, 'jwksUri');
    else if (urlPort(u) !== '' && !/^[0-9]+$/.test(urlPort(u))) r.error(`invalid port in ${q(rule.jwksUri)}`, 'jwksUri');
  }
  if (rule.jwks) {
    const parsed = parseJwks(rule.jwks);
    if ('error' in parsed) r.error(`jwks parse error: ${parsed.error}`, 'jwks');
    else {
      parsed.keys.forEach((k, i) => {
        if (k.kty === 'oct' || typeof k.d === 'string') {
          r.warn(`jwks key at index ${i} contains private key material; only public keys are used for verification`, 'jwks');
        }
      });
    }
  }
  (rule.fromHeaders ?? []).forEach((h, i) => {
    if (!h.name) r.error('location header name must be non-empty string', 'fromHeaders', i, 'name');
  });
  (rule.fromParams ?? []).forEach((p, i) => {
    if (!p) r.error('location query must be non-empty string', 'fromParams', i);
  });
  (rule.fromCookies ?? []).forEach((c, i) => {
    if (!c) r.error('cookie name must be non-empty string', 'fromCookies', i);
  });
  (rule.outputClaimToHeaders ?? []).forEach((ch, i) => {
    if (!ch.claim || !ch.header) return r.error('outputClaimToHeaders header and claim value must be non-empty string', 'outputClaimToHeaders', i);
    r.check(validateStrictHeaderName(ch.header), 'outputClaimToHeaders', i, 'header');
  });
  if (rule.timeout) r.check(validateDuration(rule.timeout), 'timeout');
}

export function validateRequestAuthentication(r: Report, ra: sec.RequestAuthentication): void {
  validatePolicyTargets(r, ra);
  (ra.jwtRules ?? []).forEach((rule, i) => validateJwtRule(r.at('jwtRules', i), rule));
}

export function validatePeerAuthentication(r: Report, pa: sec.PeerAuthentication): void {
  const emptySelector = !pa.selector || Object.keys(pa.selector.matchLabels ?? {}).length === 0;
  const ports = Object.keys(pa.portLevelMtls ?? {});
  if (emptySelector && ports.length) r.error('mesh/namespace peer authentication cannot have port level mTLS', 'portLevelMtls');
  if (pa.portLevelMtls !== undefined && ports.length === 0) r.error('port level mTLS, if defined, must have at least one element', 'portLevelMtls');
  for (const p of ports) {
    const n = Number(p);
    if (n <= 0 || n > 65535) r.error('port must be in range 1..65535', 'portLevelMtls', p);
  }
  validateWorkloadSelector(r.at('selector'), pa.selector);
}
