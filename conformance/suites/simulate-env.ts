// Builds one simulation case's environment the way Istio's test harness did (README of the
// simulation data, "The inputs"), with Isthmus's own config parsing, registry and PushContext,
// then generates the proxy's config with isthmusd's generators.
import { parseAllDocuments, stringify } from 'yaml';
import { formatConfigError, parseYaml } from '../../pilot/config/parse.js';
import type { Resource } from '../../pilot/config/resource.js';
import { MemoryConfigStore } from '../../pilot/config/store.js';
import type { MeshConfig } from '../../pilot/model/mesh.js';
import { meshConfigFromJson } from '../../pilot/model/mesh-json.js';
import { proxyFromNode, type Proxy } from '../../pilot/model/proxy.js';
import { PushContext } from '../../pilot/model/push-context.js';
import { parseProtocol, type IstioEndpoint, type Service } from '../../pilot/model/service.js';
import { generatorsFor } from '../../pilot/networking/generators.js';
import { buildServiceIndex, type ServiceIndex } from '../../pilot/registry/index.js';
import { generateSimulationConfig } from '../../pilot/simulation/config.js';
import type { SimulationConfig } from '../../pilot/simulation/engine.js';

export const DOMAIN_SUFFIX = 'cluster.local';

export interface CaseProxy {
  type?: 'sidecar' | 'router';
  id?: string;
  ipAddresses?: string[];
  configNamespace?: string;
  dnsDomain?: string;
  labels?: Record<string, string>;
  metadata?: {
    istioVersion?: string;
    labels?: Record<string, string>;
    namespace?: string;
    clusterId?: string;
    dnsCapture?: boolean;
    dnsAutoAllocate?: boolean;
  };
}

interface MemoryService {
  hostname: string;
  defaultAddress?: string;
  ports?: { name: string; port: number; protocol?: string }[];
  resolution?: string;
}

interface MemoryInstance {
  endpoint: { addresses: string[]; servicePortName: string; endpointPort: number };
  service: string;
  servicePort: number;
  servicePortName: string;
}

/** The fields shared by cases.json and route_tables.json entries. */
export interface CaseEnvironment {
  name: string;
  harness?: string;
  config?: string;
  kubeConfig?: string;
  goConfigs?: string;
  memoryRegistry?: { services?: MemoryService[]; instances?: MemoryInstance[] };
  proxy: CaseProxy;
  meshConfig?: Record<string, unknown>;
  featureFlags?: Record<string, unknown>;
}

export interface BuiltEnvironment {
  push: PushContext;
  proxy: Proxy;
  config: SimulationConfig;
  /** Things about the environment that Isthmus could not reproduce; appended to failure lines. */
  notes: string[];
}

/** Why a case cannot be run at all (unloadable kinds, rejected config, generation errors). */
export class EnvironmentError extends Error {}

interface ParseSource {
  label: string;
  text: string | undefined;
  /** Istio gives config objects without a creationTimestamp all the same "now". */
  defaultTimestamp?: string;
  /** Go-built config.Configs: Istio stores them without validation. */
  unvalidated?: boolean;
  /** Objects of the fake Kubernetes client. */
  kubernetes?: boolean;
}

const INTERNAL_ANNOTATION = /^internal\.istio\.io\//;

/**
 * Go-built configs (`goConfigs`) reach Istio's store without validation; Istio's own internal
 * annotations (`internal.istio.io/parents`, `.../route-semantics`) are refused from users by
 * validation. They are taken out for parsing and put back on the parsed resources.
 */
function withoutInternalAnnotations(text: string): { text: string; restore: (r: Resource) => void } {
  const saved = new Map<string, Record<string, string>>();
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown> | null);
  for (const doc of docs) {
    const meta = doc?.metadata as { name?: string; namespace?: string; annotations?: Record<string, string> } | undefined;
    if (!meta?.annotations) continue;
    const internal = Object.fromEntries(Object.entries(meta.annotations).filter(([k]) => INTERNAL_ANNOTATION.test(k)));
    if (!Object.keys(internal).length) continue;
    saved.set(`${String(doc!.kind)}/${meta.namespace ?? 'default'}/${meta.name ?? ''}`, internal);
    for (const k of Object.keys(internal)) delete meta.annotations[k];
  }
  if (!saved.size) return { text, restore: () => {} };
  return {
    text: docs.filter((d) => d).map((d) => stringify(d)).join('---\n'),
    restore: (r) => Object.assign(r.meta.annotations, saved.get(`${r.kind}/${r.meta.namespace}/${r.meta.name}`) ?? {}),
  };
}

/**
 * Kubernetes objects reach Istio's fake client unvalidated: an EndpointSlice without the
 * (API-required) addressType is taken as IPv4/IPv6 from its addresses, as the fake client keeps it.
 */
function defaultAddressTypes(text: string): string {
  const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown> | null);
  let changed = false;
  for (const doc of docs) {
    if (doc?.kind !== 'EndpointSlice' || doc.addressType) continue;
    const eps = (doc.endpoints ?? []) as { addresses?: string[] }[];
    doc.addressType = eps.some((e) => e.addresses?.some((a) => a.includes(':'))) ? 'IPv6' : 'IPv4';
    changed = true;
  }
  return changed ? docs.filter((d) => d).map((d) => stringify(d)).join('---\n') : text;
}

function parseSources(sources: ParseSource[]): Resource[] {
  const resources: Resource[] = [];
  const ignored = new Set<string>();
  const errors: string[] = [];
  for (const s of sources) {
    if (!s.text?.trim()) continue;
    const unvalidated = s.unvalidated ? withoutInternalAnnotations(s.text) : undefined;
    const text = s.kubernetes ? defaultAddressTypes(s.text) : (unvalidated?.text ?? s.text);
    const r = parseYaml(text, { file: s.label, defaultNamespace: 'default' });
    if (unvalidated) r.resources.forEach(unvalidated.restore);
    for (const k of r.ignored) ignored.add(k);
    errors.push(...r.errors.map(formatConfigError));
    for (const res of r.resources) {
      if (s.defaultTimestamp && !res.meta.creationTimestamp) res.meta.creationTimestamp = s.defaultTimestamp;
      resources.push(res);
    }
  }
  if (ignored.size) throw new EnvironmentError(`needs kinds Isthmus cannot load yet: ${[...ignored].sort().join(', ')}`);
  if (errors.length) throw new EnvironmentError(`config Istio accepts is rejected by Isthmus: ${errors.join(' | ')}`);
  return resources;
}

function namespaceOfHostname(hostname: string): string {
  const m = /^[^.]+\.([^.]+)\.svc\./.exec(hostname);
  return m ? m[1]! : '';
}

/** `core.NewConfigGenTest`'s memory registry: model.Services and the proxy's ServiceInstances. */
function memoryRegistry(spec: CaseEnvironment['memoryRegistry']): { services: Service[]; endpoints: Map<Service, IstioEndpoint[]> } {
  const services: Service[] = [];
  const endpoints = new Map<Service, IstioEndpoint[]>();
  const byHost = new Map<string, Service>();
  for (const s of spec?.services ?? []) {
    const namespace = namespaceOfHostname(s.hostname);
    const svc: Service = {
      hostname: s.hostname,
      namespace,
      name: s.hostname.split('.')[0]!,
      registry: 'Kubernetes',
      ports: (s.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: parseProtocol(p.protocol) })),
      addresses: s.defaultAddress && s.defaultAddress !== '0.0.0.0' ? [s.defaultAddress] : [],
      resolution: s.resolution === 'DNSLB' ? 'DNSLB' : s.resolution === 'Passthrough' ? 'Passthrough' : 'ClientSideLB',
      meshExternal: false,
      exportTo: new Set(['*']),
      labels: {},
      creationTimestamp: '',
      origin: { kind: 'Service', namespace, name: s.hostname.split('.')[0]! },
    };
    services.push(svc);
    endpoints.set(svc, []);
    byHost.set(s.hostname, svc);
  }
  for (const inst of spec?.instances ?? []) {
    const svc = byHost.get(inst.service);
    if (!svc) continue;
    for (const address of inst.endpoint.addresses.slice(0, 1)) {
      endpoints.get(svc)!.push({ address, endpointPort: inst.endpoint.endpointPort, servicePortName: inst.endpoint.servicePortName, labels: {}, healthy: true });
    }
  }
  return { services, endpoints };
}

function composeIndex(base: ServiceIndex, extra: { services: Service[]; endpoints: Map<Service, IstioEndpoint[]> }): ServiceIndex {
  if (extra.services.length === 0) return base;
  const services = [...base.services, ...extra.services];
  const byHostname = new Map<string, Service[]>();
  for (const svc of services) {
    let list = byHostname.get(svc.hostname);
    if (!list) byHostname.set(svc.hostname, (list = []));
    list.push(svc);
  }
  return { services, byHostname, endpoints: (svc) => extra.endpoints.get(svc) ?? base.endpoints(svc) };
}

/** The case's proxy, decoded through the same path as an xDS node (proxyFromNode). */
export function caseProxy(p: CaseProxy): Proxy {
  const type = p.type ?? 'sidecar';
  const ips = p.ipAddresses?.length ? p.ipAddresses : ['1.1.1.1'];
  const configNamespace = p.configNamespace || 'default';
  const labels = p.labels ?? p.metadata?.labels ?? {};
  const md: Record<string, string | Record<string, string>> = {
    NAMESPACE: configNamespace,
    LABELS: labels,
    ISTIO_VERSION: p.metadata?.istioVersion ?? '1.23.0',
    INSTANCE_IPS: ips.join(','),
  };
  if (p.metadata?.clusterId) md.CLUSTER_ID = p.metadata.clusterId;
  if (p.metadata?.dnsCapture) md.DNS_CAPTURE = 'true';
  if (p.metadata?.dnsAutoAllocate) md.DNS_AUTO_ALLOCATE = 'true';
  const dnsDomain = p.dnsDomain || `${configNamespace}.svc.${DOMAIN_SUFFIX}`;
  const proxy = proxyFromNode({ id: `${type}~${ips[0]}~${p.id ?? 'app.test'}~${dnsDomain}`, metadata: md }, DOMAIN_SUFFIX);
  // Istio's SetupProxy keeps metadata.namespace (istio-system for gateways) apart from the config namespace.
  proxy.namespace = configNamespace;
  proxy.dnsDomain = dnsDomain;
  if (p.metadata?.namespace && p.metadata.namespace !== configNamespace) proxy.metadata = { ...proxy.metadata, POD_NAMESPACE: p.metadata.namespace };
  return proxy;
}

function caseMesh(overrides: Record<string, unknown> | undefined, notes: string[]): MeshConfig {
  const { mesh, ignored, errors } = meshConfigFromJson(overrides ?? {});
  for (const key of ignored) notes.push(`mesh config ${key} is not modelled by Isthmus's MeshConfig`);
  for (const e of errors) notes.push(`mesh config rejected: ${e}`);
  return mesh;
}

/** Runs `fn` with the case's feature flags in the environment (Istio reads them as env vars). */
function withFeatureFlags<T>(flags: Record<string, unknown> | undefined, fn: () => T): T {
  const saved = new Map<string, string | undefined>();
  for (const [k, v] of Object.entries(flags ?? {})) {
    saved.set(k, process.env[k]);
    process.env[k] = String(v);
  }
  try {
    return fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export interface BuildOptions {
  /** route_tables.json: Istio parsed kubeConfig into Configs without defaulting timestamps. */
  noTimestampDefaulting?: boolean;
}

export function buildEnvironment(c: CaseEnvironment, opts: BuildOptions = {}): BuiltEnvironment {
  const notes: string[] = [];
  const now = new Date().toISOString();
  const resources = parseSources([
    { label: 'config', text: c.config, defaultTimestamp: opts.noTimestampDefaulting ? undefined : now },
    { label: 'kubeConfig', text: c.kubeConfig, kubernetes: true },
    { label: 'goConfigs', text: c.goConfigs, unvalidated: true },
  ]);
  const store = new MemoryConfigStore();
  store.replaceAll(resources);
  const mesh = caseMesh(c.meshConfig, notes);
  // Feature flags are process-wide in Istio: registries read them too (ServiceEntry IP auto-allocation).
  const registry = withFeatureFlags(c.featureFlags, () =>
    composeIndex(buildServiceIndex(store, { domainSuffix: DOMAIN_SUFFIX }), memoryRegistry(c.memoryRegistry)),
  );
  // Istio's test harness parses config without a domain: short names resolve to `name.namespace`.
  const push = new PushContext(`simulate/${c.name}`, mesh, DOMAIN_SUFFIX, registry, store, { configDomain: '' });
  const proxy = caseProxy(c.proxy);
  const generators = generatorsFor(proxy);
  if (c.featureFlags && Object.keys(c.featureFlags).length) notes.push(`feature flags ${Object.entries(c.featureFlags).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`);
  let config: SimulationConfig;
  try {
    config = withFeatureFlags(c.featureFlags, () => generateSimulationConfig(push, proxy, generators));
  } catch (e) {
    throw new EnvironmentError(`generating the proxy's config threw: ${(e as Error).message.split('\n')[0]}`);
  }
  return { push, proxy, config, notes };
}
