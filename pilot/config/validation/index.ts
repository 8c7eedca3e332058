// Istio's validation rules per kind (what istiod's validating webhook checks after the CRD
// schema): errors reject a resource, warnings are reported and the resource is accepted.
// Findings carry the path of the field they are about, relative to the spec.
import type { Issue } from '../schema/dsl.js';
import type { ObjectMeta } from '../resource.js';
import { validateDestinationRule } from './destinationrule.js';
import { validateEnvoyFilter, validateProxyConfig, validateTelemetry, validateWasmPlugin } from './extensions.js';
import { validateGateway } from './gateway.js';
import { Report } from './report.js';
import { validateAuthorizationPolicy, validatePeerAuthentication, validateRequestAuthentication } from './security.js';
import { validateServiceEntry, validateWorkloadEntryKind, validateWorkloadGroup } from './serviceentry.js';
import { validateSidecar } from './sidecar.js';
import { validateVirtualService } from './virtualservice.js';

export { Report } from './report.js';

type Check = (r: Report, spec: any, meta: ObjectMeta) => void;

const CHECKS: Record<string, Check> = {
  VirtualService: validateVirtualService,
  DestinationRule: validateDestinationRule,
  Gateway: validateGateway,
  ServiceEntry: validateServiceEntry,
  Sidecar: validateSidecar,
  WorkloadEntry: (r, spec) => validateWorkloadEntryKind(r, spec),
  WorkloadGroup: (r, spec) => validateWorkloadGroup(r, spec),
  EnvoyFilter: (r, spec) => validateEnvoyFilter(r, spec),
  ProxyConfig: (r, spec) => validateProxyConfig(r, spec),
  PeerAuthentication: (r, spec) => validatePeerAuthentication(r, spec),
  AuthorizationPolicy: validateAuthorizationPolicy,
  RequestAuthentication: (r, spec) => validateRequestAuthentication(r, spec),
  Telemetry: (r, spec) => validateTelemetry(r, spec),
  WasmPlugin: (r, spec) => validateWasmPlugin(r, spec),
};

const DRY_RUN = 'istio.io/dry-run';
const ALWAYS_REJECT = 'internal.istio.io/webhook-always-reject';
const INTERNAL_PARENT_NAMESPACE = 'internal.istio.io/parent-namespace';
const INTERNAL_PARENTS = 'internal.istio.io/parents';
const GO_BOOLS = new Set(['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Checks of metadata Istio applies to every kind before its own rules; an error stops there. */
function validateMetadata(r: Report, kind: string, spec: any, meta: ObjectMeta): boolean {
  const where = `${meta.namespace}/${meta.name}`;
  const dryRun = meta.annotations[DRY_RUN];
  if (dryRun !== undefined) {
    if (kind !== 'AuthorizationPolicy') {
      r.error(`${where} has unsupported annotation ${DRY_RUN}, please remove the annotation`);
      return false;
    }
    const action = spec?.action ?? 'ALLOW';
    if (action === 'ALLOW' || action === 'DENY') {
      if (!GO_BOOLS.has(dryRun)) {
        r.error(`${where} has annotation ${DRY_RUN} with invalid value (${dryRun}): strconv.ParseBool: parsing ${JSON.stringify(dryRun)}: invalid syntax`);
        return false;
      }
    } else {
      r.error(`the annotation ${DRY_RUN} currently only supports action ALLOW/DENY, found action ${action} in ${where}`);
      return false;
    }
  }
  for (const [annotation, message] of [
    [ALWAYS_REJECT, `${JSON.stringify(ALWAYS_REJECT)} annotation found, rejecting`],
    [INTERNAL_PARENT_NAMESPACE, `${JSON.stringify(INTERNAL_PARENT_NAMESPACE)} annotation found, this may not be set by users`],
    [INTERNAL_PARENTS, `${JSON.stringify(INTERNAL_PARENTS)} annotation found, this may not be set by users`],
  ] as const) {
    if (meta.annotations[annotation] !== undefined) {
      r.error(message);
      return false;
    }
  }
  return true;
}

/** True when Istio has validation rules for this kind. */
export function hasRules(kind: string): boolean {
  return kind in CHECKS;
}

/**
 * Runs Istio's rules for `kind` on a parsed spec. Returns errors and warnings (severity
 * `warning`), with paths relative to the spec.
 */
export function validateSemantics(kind: string, spec: unknown, meta: ObjectMeta): Issue[] {
  const check = CHECKS[kind];
  if (!check) return [];
  const r = new Report();
  if (validateMetadata(r, kind, spec, meta)) check(r, spec, meta);
  return dedupe(r.issues);
}

function dedupe(issues: Issue[]): Issue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.severity ?? 'error'}|${JSON.stringify(i.path)}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
