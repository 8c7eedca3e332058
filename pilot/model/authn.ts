// Effective peer authentication (mTLS mode) for a workload, composed as Istio composes it:
// mesh-wide (root namespace, no selector) < namespace-wide < workload (selector), oldest wins
// within a scope, UNSET inherits, and port-level modes come from the workload policy.
import type { Resource } from '../config/resource.js';
import type { PeerAuthentication } from '../config/schema/security.js';
import { labelsMatch } from './service.js';

export type MtlsMode = 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface EffectiveMtls {
  mode: MtlsMode;
  perPort: Map<number, MtlsMode>;
}

function older(a: Resource, b: Resource): boolean {
  const ta = a.meta.creationTimestamp ?? '';
  const tb = b.meta.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb;
  return `${a.meta.namespace}/${a.meta.name}` < `${b.meta.namespace}/${b.meta.name}`;
}

function setMode(mode: string | undefined): MtlsMode | undefined {
  return mode === 'DISABLE' || mode === 'PERMISSIVE' || mode === 'STRICT' ? mode : undefined;
}

export function effectiveMtls(
  policies: readonly Resource<PeerAuthentication>[],
  rootNamespace: string,
  namespace: string,
  labels: Record<string, string>,
): EffectiveMtls {
  let mesh: Resource<PeerAuthentication> | undefined;
  let ns: Resource<PeerAuthentication> | undefined;
  let workload: Resource<PeerAuthentication> | undefined;
  for (const p of policies) {
    const selector = p.spec.selector?.matchLabels;
    const hasSelector = !!selector && Object.keys(selector).length > 0;
    if (!hasSelector) {
      if (p.meta.namespace === rootNamespace) {
        if (!mesh || older(p, mesh)) mesh = p;
      } else if (p.meta.namespace === namespace) {
        if (!ns || older(p, ns)) ns = p;
      }
    } else if (p.meta.namespace === namespace && p.meta.namespace !== rootNamespace && labelsMatch(selector, labels)) {
      if (!workload || older(p, workload)) workload = p;
    }
  }
  let mode: MtlsMode = 'PERMISSIVE';
  for (const p of [mesh, ns, workload]) mode = setMode(p?.spec.mtls?.mode) ?? mode;
  const perPort = new Map<number, MtlsMode>();
  for (const [port, m] of Object.entries(workload?.spec.portLevelMtls ?? {})) perPort.set(Number(port), setMode(m.mode) ?? mode);
  return { mode, perPort };
}

export function mtlsForPort(e: EffectiveMtls, port: number): MtlsMode {
  return e.perPort.get(port) ?? e.mode;
}
