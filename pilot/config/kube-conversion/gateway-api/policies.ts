// Backend policies → DestinationRules (Istio's DestinationRuleCollection): BackendTLSPolicy,
// XBackendTrafficPolicy and XBackend TLS settings, merged per target and host, oldest first.
import type { Resource } from '../../resource.js';
import { parseDuration } from '../../schema/dsl.js';
import type { ConfigMapBody } from '../../schema/ingress.js';
import type { BackendTLSPolicySpec, XBackendSpec, XBackendTrafficPolicySpec } from '../../schema/gateway-api.js';
import type * as net from '../../schema/networking.js';
import { ANNOTATION, compareStrings, derivedResource, durationOf, KUBERNETES_GATEWAY_NAME, origin, timeOf, type DerivedFrom, type DerivedResource } from '../common.js';
import { extractRoot, normalizeReference, type ConversionContext } from './context.js';

const IGNORE_ANNOTATION = 'istio.io/ignore-policy-attachment';

type ClientTLS = NonNullable<net.TrafficPolicy['tls']>;

interface BackendPolicy {
  source: Resource;
  sourceKind: string;
  target: { kind: 'Service' | 'ServiceEntry' | 'XBackend'; namespace: string; name: string };
  host: string;
  sectionName?: string;
  port?: number;
  tls?: ClientTLS;
  loadBalancer?: NonNullable<net.TrafficPolicy['loadBalancer']>;
  retryBudget?: NonNullable<net.TrafficPolicy['retryBudget']>;
}

interface TLSValidation {
  caCertificateRefs?: { group?: string; kind?: string; name?: string }[];
  wellKnownCACertificates?: string;
  hostname?: string;
  subjectAltNames?: { type?: string; hostname?: string; uri?: string }[];
}

/** Istio's getBackendTLSCredentialName: `configmap://ns/name`, or `invalid://` to block traffic on a bad reference. */
function credentialName(ctx: ConversionContext, v: TLSValidation | undefined, ns: string): string {
  if (!v) return '';
  if (v.wellKnownCACertificates !== undefined) return '';
  const ref = v.caCertificateRefs?.[0];
  if (!ref) return '';
  const kind = normalizeReference(ref.group ?? '', ref.kind ?? '', { group: '', kind: '' });
  if (kind === 'ConfigMap') {
    const cm = ctx.store.get<ConfigMapBody>('ConfigMap', ns, ref.name ?? '');
    if (cm) {
      const data = Object.fromEntries(Object.entries(cm.spec.data ?? {}).map(([k, val]) => [k, Buffer.from(val, 'utf8')]));
      return 'error' in extractRoot(data) ? 'invalid://' : `configmap://${ns}/${ref.name}`;
    }
  }
  return 'invalid://';
}

function subjectAltNames(v: TLSValidation | undefined): string[] {
  const out: string[] = [];
  for (const san of v?.subjectAltNames ?? []) {
    if (san.type === 'Hostname') out.push(san.hostname ?? '');
    else if (san.type === 'URI') out.push(san.uri ?? '');
  }
  return out;
}

function clientTLS(ctx: ConversionContext, v: TLSValidation | undefined, ns: string, defaultSni = ''): ClientTLS {
  const tls: ClientTLS = { mode: 'SIMPLE' };
  const sni = v?.hostname || defaultSni;
  if (sni) tls.sni = sni;
  const sans = subjectAltNames(v);
  if (sans.length) tls.subjectAltNames = sans;
  const cred = credentialName(ctx, v, ns);
  if (cred) tls.credentialName = cred;
  return tls;
}

type TargetRef = { group?: string; kind?: string; name?: string; sectionName?: string };

function sameTarget(a: TargetRef, b: TargetRef): boolean {
  return (a.group ?? '') === (b.group ?? '') && a.kind === b.kind && a.name === b.name && a.sectionName === b.sectionName;
}

function olderOrFirst(a: Resource, b: Resource): boolean {
  const ta = timeOf(a.meta.creationTimestamp);
  const tb = timeOf(b.meta.creationTimestamp);
  if (ta !== tb) return ta < tb;
  return a.meta.name < b.meta.name;
}

function ignored(r: Resource): boolean {
  return (r.meta.annotations[IGNORE_ANNOTATION] ?? '').toLowerCase() === 'true';
}

function tlsPolicies(ctx: ConversionContext): BackendPolicy[] {
  const out: BackendPolicy[] = [];
  const all = ctx.store.list<BackendTLSPolicySpec>('BackendTLSPolicy');
  const active = all.filter((p) => !ignored(p));
  for (const policy of active) {
    const ns = policy.meta.namespace;
    const tls = clientTLS(ctx, policy.spec.validation as TLSValidation | undefined, ns);
    for (const t of policy.spec.targetRefs ?? []) {
      const kind = normalizeReference(t.group ?? '', t.kind ?? '', { group: '', kind: '' });
      let hosts: string[] = [];
      let ports: { name?: string }[] = [];
      if (kind === 'Service') {
        const svc = ctx.kubeService(ns, t.name ?? '');
        if (!svc) continue;
        hosts = [`${t.name}.${ns}.svc.${ctx.domainSuffix}`];
        ports = svc.spec.ports ?? [];
      } else if (kind === 'ServiceEntry') {
        const se = ctx.serviceEntry(ns, t.name ?? '');
        if (!se) continue;
        hosts = [...(se.spec.hosts ?? [])];
        ports = se.spec.ports ?? [];
      } else continue;
      if (t.sectionName && !ports.some((p) => p.name === t.sectionName)) continue;
      const conflicted = active.some(
        (other) =>
          (other.meta.uid ?? '') !== (policy.meta.uid ?? '') &&
          (other.meta.namespace === ns) &&
          (other.spec.targetRefs ?? []).some((o) => sameTarget(t, o)) &&
          olderOrFirst(other, policy),
      );
      if (conflicted) continue;
      for (const host of hosts) {
        out.push({
          source: policy,
          sourceKind: 'BackendTLSPolicy',
          target: { kind, namespace: ns, name: t.name ?? '' },
          host,
          ...(t.sectionName ? { sectionName: t.sectionName } : {}),
          tls,
        });
      }
    }
  }
  return out;
}

function trafficPolicies(ctx: ConversionContext): BackendPolicy[] {
  if (!ctx.features.enableAlphaGatewayApi) return [];
  const out: BackendPolicy[] = [];
  for (const policy of ctx.store.list<XBackendTrafficPolicySpec>('XBackendTrafficPolicy')) {
    if (ignored(policy)) continue;
    const ns = policy.meta.namespace;
    let retryBudget: BackendPolicy['retryBudget'];
    const rc = policy.spec.retryConstraint;
    if (rc) {
      retryBudget = {};
      if (rc.budget?.percent !== undefined) retryBudget.percent = rc.budget.percent;
      const interval = rc.budget?.interval !== undefined ? parseDuration(rc.budget.interval) : undefined;
      retryBudget.budgetInterval = durationOf(interval ?? 10); // Gateway API default: 10s
      retryBudget.minRetryConcurrency = rc.minRetryRate?.count ?? 10;
    }
    for (const t of policy.spec.targetRefs ?? []) {
      const kind = normalizeReference(t.group ?? '', t.kind ?? '', { group: '', kind: '' });
      if (kind !== 'Service' || !ctx.kubeService(ns, t.name ?? '')) continue;
      out.push({
        source: policy,
        sourceKind: 'XBackendTrafficPolicy',
        target: { kind: 'Service', namespace: ns, name: t.name ?? '' },
        host: `${t.name}.${ns}.svc.${ctx.domainSuffix}`,
        loadBalancer: {},
        ...(retryBudget ? { retryBudget } : {}),
      });
    }
  }
  return out;
}

interface XBackendTLS {
  mode?: string;
  validation?: TLSValidation;
}

function backendResourcePolicies(ctx: ConversionContext): BackendPolicy[] {
  if (!ctx.features.enableAlphaGatewayApi) return [];
  const out: BackendPolicy[] = [];
  for (const b of ctx.store.list<XBackendSpec>('XBackend')) {
    if (b.spec.type !== 'ExternalHostname' || !b.spec.externalHostname) continue;
    const tlsSpec = b.spec.tls as XBackendTLS | undefined;
    if (!tlsSpec || tlsSpec.mode !== 'ServerOnly') continue;
    const host = b.spec.externalHostname.hostname ?? '';
    out.push({
      source: b,
      sourceKind: 'XBackend',
      target: { kind: 'XBackend', namespace: b.meta.namespace, name: b.meta.name },
      host,
      port: b.spec.port?.port ?? 0,
      tls: clientTLS(ctx, tlsSpec.validation, b.meta.namespace, host),
    });
  }
  return out;
}

function drName(target: BackendPolicy['target'], host: string): string {
  if (target.kind === 'ServiceEntry' || target.kind === 'XBackend') return `${target.name}~${host.replaceAll('.', '-')}~${KUBERNETES_GATEWAY_NAME}`;
  return `${target.name}~${KUBERNETES_GATEWAY_NAME}`;
}

export function backendPolicyDestinationRules(ctx: ConversionContext): DerivedResource<net.DestinationRule>[] {
  const byKey = new Map<string, BackendPolicy[]>();
  for (const p of [...trafficPolicies(ctx), ...tlsPolicies(ctx), ...backendResourcePolicies(ctx)]) {
    const key = `${p.target.kind}/${p.target.namespace}/${p.target.name}/${p.host}`;
    let list = byKey.get(key);
    if (!list) byKey.set(key, (list = []));
    list.push(p);
  }
  const out: DerivedResource<net.DestinationRule>[] = [];
  for (const pols of byKey.values()) {
    pols.sort(
      (a, b) =>
        timeOf(a.source.meta.creationTimestamp) - timeOf(b.source.meta.creationTimestamp) ||
        compareStrings(a.source.meta.namespace, b.source.meta.namespace) ||
        compareStrings(a.source.meta.name, b.source.meta.name),
    );
    const { target, host } = pols[0]!;
    const policy: net.TrafficPolicy = {};
    const byName = new Map<string, NonNullable<net.TrafficPolicy['portLevelSettings']>[number]>();
    const byNumber = new Map<number, NonNullable<net.TrafficPolicy['portLevelSettings']>[number]>();
    let tlsSet = false;
    let lbSet = false;
    let rbSet = false;
    const parents: string[] = [];
    const from: DerivedFrom[] = [];
    for (const pol of pols) {
      if (pol.tls) {
        if (pol.port !== undefined) {
          if (!byNumber.has(pol.port)) byNumber.set(pol.port, { port: { number: pol.port }, tls: pol.tls });
        } else if (pol.sectionName !== undefined) {
          if (!byName.has(pol.sectionName)) byName.set(pol.sectionName, { port: {}, tls: pol.tls });
        } else {
          if (tlsSet) continue;
          tlsSet = true;
          policy.tls = pol.tls;
        }
      }
      if (pol.loadBalancer) {
        if (lbSet) continue;
        lbSet = true;
        policy.loadBalancer = pol.loadBalancer;
      }
      if (pol.retryBudget) {
        if (rbSet) continue;
        rbSet = true;
        policy.retryBudget = pol.retryBudget;
      }
      const parent = `${pol.sourceKind}/${pol.source.meta.namespace}.${pol.source.meta.name}`;
      if (!parents.includes(parent)) {
        parents.push(parent);
        from.push(origin(pol.source));
      }
    }
    let ports: { name?: string; number?: number }[] = [];
    if (target.kind === 'Service') ports = (ctx.kubeService(target.namespace, target.name)?.spec.ports ?? []).map((p) => ({ name: p.name, number: p.port }));
    else if (target.kind === 'ServiceEntry') ports = ctx.serviceEntry(target.namespace, target.name)?.spec.ports ?? [];
    const levels: NonNullable<net.TrafficPolicy['portLevelSettings']> = [];
    for (const [name, setting] of byName) {
      const port = ports.find((p) => p.name === name);
      if (port?.number) setting.port = { number: port.number };
      levels.push(setting);
    }
    levels.push(...byNumber.values());
    if (levels.length) policy.portLevelSettings = levels.sort((a, b) => (a.port?.number ?? 0) - (b.port?.number ?? 0));
    out.push(
      derivedResource<net.DestinationRule>(
        'DestinationRule',
        { name: drName(target, host), namespace: target.namespace, annotations: { [ANNOTATION.parents]: parents.join(',') } },
        { host, trafficPolicy: policy },
        from,
      ),
    );
  }
  return out;
}
