// Sidecar injection, as Istio's pkg/kube/inject does it: the injection policy, rendering the
// selected templates with SidecarTemplateData, overlaying each rendered template on the pod with a
// strategic merge, re-applying a user's own `istio-proxy` container, and the post-processing no
// template can express (cluster env vars, Prometheus merge, probe rewriting, the
// sidecar.istio.io/status annotation, container order). The result is a JSON patch against the pod.
//
// Pods are handled as Go would serialize a corev1.Pod (see k8s/types.ts): every step that Istio
// ends with a typed decode is followed by the same normalization here.

import { goStruct, sprint, toGoJson, type Template } from '../template/index.js';
import { selectorMatches, type InjectConfig, type LabelSelector, type ValuesConfig } from './config.js';
import { createPatch, type PatchOp } from './jsonpatch.js';
import { goView, patchSchema, roundTrip, type Json, type JsonObject } from './k8s/types.js';
import {
  applyProxyConfig, cloneProto, defaultProxyConfig, mergeProxyConfig, MESH_CONFIG, PROXY_CONFIG, ProtoError, protoToJson, protoView,
  yamlToJson, type ProtoJson,
} from './mesh.js';
import { strategicMerge } from './smp.js';
import { validateAnnotations } from './validate.js';

export type Pod = JsonObject;

export const ANNOTATION = {
  inject: 'sidecar.istio.io/inject',
  status: 'sidecar.istio.io/status',
  overrides: 'proxy.istio.io/overrides',
  templates: 'inject.istio.io/templates',
  proxyConfig: 'proxy.istio.io/config',
  mergeMetrics: 'prometheus.istio.io/merge-metrics',
  rewriteProbers: 'sidecar.istio.io/rewriteAppHTTPProbers',
  statusPort: 'status.sidecar.istio.io/port',
  interceptionMode: 'sidecar.istio.io/interceptionMode',
  proxyImageType: 'sidecar.istio.io/proxyImageType',
  nativeSidecar: 'sidecar.istio.io/nativeSidecar',
} as const;

export const PROXY_CONTAINER = 'istio-proxy';
export const VALIDATION_CONTAINER = 'istio-validation';
export const INIT_CONTAINER = 'istio-init';
export const ENABLE_CORE_DUMP = 'enable-core-dump';
export const AUTO_IMAGE = 'auto';

/** Namespaces Istio never injects into. */
export const IGNORED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease', 'local-path-storage'];

export class InjectionError extends Error {}

/** Istio's feature flags that change injection (read from the environment by default). */
export interface InjectionFeatures {
  /** ENABLE_NATIVE_SIDECARS: `auto` (by node kubelet versions), `true`, `false`. */
  nativeSidecars: 'auto' | 'true' | 'false';
  /** PLATFORM (`openshift` changes proxy UIDs and user-ID handling). */
  platform: string;
  /** COMPLIANCE_POLICY, passed to templates as .CompliancePolicy. */
  compliancePolicy: string;
}

export function featuresFromEnv(env: Record<string, string | undefined> = process.env, warn?: (m: string) => void): InjectionFeatures {
  const raw = env.ENABLE_NATIVE_SIDECARS ?? 'auto';
  let nativeSidecars: InjectionFeatures['nativeSidecars'] = 'false';
  if (raw === 'auto' || raw === 'true' || raw === 'false') nativeSidecars = raw;
  else warn?.(`Unknown value for ENABLE_NATIVE_SIDECARS: ${raw}, defaulting to false`);
  return { nativeSidecars, platform: env.PLATFORM ?? '', compliancePolicy: env.COMPLIANCE_POLICY ?? '' };
}

export interface NodeInfo {
  name: string;
  kubeletVersion: string;
}

export interface NamespaceInfo {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface NamespacedName {
  name: string;
  namespace: string;
}

export interface TypeMeta {
  kind: string;
  apiVersion: string;
}

export interface InjectionParameters {
  pod: Pod;
  deployMeta: NamespacedName;
  typeMeta: TypeMeta;
  namespace?: NamespaceInfo;
  nativeSidecar: boolean;
  templates: Map<string, Template>;
  defaultTemplate: string[];
  aliases: Record<string, string[]>;
  meshConfig: ProtoJson;
  proxyConfig: ProtoJson;
  values: ValuesConfig;
  revision: string;
  proxyEnvs: Record<string, string>;
  injectedAnnotations: Record<string, string>;
  compliancePolicy: string;
  warn: (msg: string) => void;
}

// ---- small pod helpers ----

type Container = JsonObject;

function obj(v: Json | undefined): JsonObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
}

export function metadataOf(pod: Pod): JsonObject {
  let m = obj(pod.metadata);
  if (!m) { m = {}; pod.metadata = m; }
  return m;
}

export function specOf(pod: Pod): JsonObject {
  let s = obj(pod.spec);
  if (!s) { s = {}; pod.spec = s; }
  return s;
}

export function annotationsOf(pod: Pod): Record<string, string> {
  return (obj(metadataOf(pod).annotations) ?? {}) as Record<string, string>;
}

export function labelsOf(pod: Pod): Record<string, string> {
  return (obj(metadataOf(pod).labels) ?? {}) as Record<string, string>;
}

function ensureMap(m: JsonObject, key: string): Record<string, string> {
  let v = obj(m[key]);
  if (!v) { v = {}; m[key] = v; }
  return v as Record<string, string>;
}

function containers(pod: Pod, key: 'containers' | 'initContainers'): Container[] {
  const v = specOf(pod)[key];
  return Array.isArray(v) ? (v as Container[]) : [];
}

export function findContainer(name: string, list: Container[]): Container | undefined {
  return list.find(c => c.name === name);
}

export function findContainerFromPod(name: string, pod: Pod): Container | undefined {
  return findContainer(name, containers(pod, 'containers')) ?? findContainer(name, containers(pod, 'initContainers'));
}

export function findSidecar(pod: Pod): Container | undefined {
  return findContainerFromPod(PROXY_CONTAINER, pod);
}

type Reorder = 'first' | 'last' | 'remove';

/** modifyContainers: moves (or removes) the last container named `name`; other same-named ones are dropped. */
function modifyContainers(cl: Container[] | undefined, name: string, how: Reorder): Container[] {
  const rest: Container[] = [];
  let match: Container | undefined;
  for (const c of cl ?? []) {
    if (c.name !== name) rest.push(c);
    else match = c;
  }
  if (!match) return rest;
  if (how === 'first') return [match, ...rest];
  if (how === 'last') return [...rest, match];
  return rest;
}

function potentialPodName(meta: JsonObject): string {
  if (meta.name) return meta.name as string;
  if (meta.generateName) return `${meta.generateName as string}***** (actual name not yet known)`;
  return '';
}

/** Normalizes a pod as Go's json round trip through corev1.Pod does. */
export function normalizePod(pod: unknown, keepUnknown = false): Pod {
  return roundTrip('core.Pod', pod, { keepUnknown }) as Pod;
}

// ---- policy ----

/** injectRequired: whether the pod gets a sidecar under `config`'s policy and selectors. */
export function injectRequired(
  ignored: string[], config: Pick<InjectConfig, 'policy' | 'neverInjectSelector' | 'alwaysInjectSelector'>,
  spec: JsonObject, meta: JsonObject, warn: (m: string) => void = () => undefined,
): boolean {
  if (spec.hostNetwork === true) return false;
  const namespace = (meta.namespace as string | undefined) ?? '';
  if (ignored.includes(namespace)) return false;
  const annotations = (obj(meta.annotations) ?? {}) as Record<string, string>;
  const labels = (obj(meta.labels) ?? {}) as Record<string, string>;
  let objectSelector = annotations[ANNOTATION.inject] ?? '';
  if (Object.prototype.hasOwnProperty.call(labels, ANNOTATION.inject)) objectSelector = labels[ANNOTATION.inject];
  let useDefault = false, inject = false;
  switch (objectSelector) {
    case 'true': inject = true; break;
    case 'false': inject = false; break;
    case '': useDefault = true; break;
    default:
      warn(`Invalid value for ${ANNOTATION.inject}: ${JSON.stringify(objectSelector)}. Only 'true' and 'false' are accepted. Falling back to default injection policy.`);
      useDefault = true;
  }
  const check = (sels: LabelSelector[], kind: string): boolean => {
    for (const sel of sels) {
      try {
        if (selectorMatches(sel, labels) === true) return true;
      } catch (e) {
        warn(`Invalid selector for ${kind}: ${JSON.stringify(sel)} (${(e as Error).message})`);
      }
    }
    return false;
  };
  if (useDefault && check(config.neverInjectSelector, 'NeverInjectSelector')) { inject = false; useDefault = false; }
  if (useDefault && check(config.alwaysInjectSelector, 'AlwaysInjectSelector')) { inject = true; useDefault = false; }
  switch (config.policy) {
    case 'disabled': return useDefault ? false : inject;
    case 'enabled': return useDefault ? true : inject;
    default:
      warn(`Illegal value for autoInject:${config.policy}, must be one of [disabled,enabled]. Auto injection disabled!`);
      return false;
  }
}

/** DetectNativeSidecar: native sidecars when every node (or the pod's node) runs kubelet ≥ 1.33. */
export function detectNativeSidecar(mode: InjectionFeatures['nativeSidecars'], nodes: NodeInfo[] | undefined, nodeName: string,
  warn: (m: string) => void = () => undefined): boolean {
  if (mode === 'false') return false;
  if (mode === 'true') return true;
  if (!nodes) {
    warn('configured to auto detect native sidecar support, but couldn\'t find a client');
    return false;
  }
  const ok = (n: NodeInfo): boolean => {
    const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+].*)?$/.exec(n.kubeletVersion.trim());
    if (!m) {
      warn(`could not read node version for ${n.name} ${n.kubeletVersion}: Malformed version: ${n.kubeletVersion}`);
      return false;
    }
    return Number(m[2] ?? 0) >= 33;
  };
  if (nodeName) {
    const node = nodes.find(n => n.name === nodeName);
    if (node) return ok(node);
    warn(`pod assigned to node ${JSON.stringify(nodeName)} but node not found in cluster`);
  }
  return nodes.every(ok);
}

// ---- images, IDs, cluster ----

function imageURL(hub: string, imageName: string, tag: string, imageType: string): string {
  return `${hub}/${imageName}:${updateImageType(tag, imageType)}`;
}

function updateImageType(tag: string, imageType: string): string {
  if (imageType === '') return tag;
  for (const known of ['distroless', 'debug']) {
    if (tag.endsWith('-' + known)) { tag = tag.slice(0, -(known.length + 1)); break; }
  }
  return imageType === 'default' ? tag : `${tag}-${imageType}`;
}

function valuesTag(values: ValuesConfig): string {
  const t = values.get('global.tag');
  if (t === undefined || t === null) return '';
  return sprint(t);
}

function proxyImageURL(values: ValuesConfig, imageName: string, imageType: string, annotations: Record<string, string>): string {
  if (imageType === '') imageType = values.str('global.variant');
  if (Object.prototype.hasOwnProperty.call(annotations, ANNOTATION.proxyImageType)) imageType = annotations[ANNOTATION.proxyImageType];
  return imageURL(values.str('global.hub'), imageName, valuesTag(values), imageType);
}

/** inject.ProxyImage */
export function proxyImage(values: ValuesConfig, proxyConfig: ProtoJson, annotations: Record<string, string>): string {
  const name = values.str('global.proxy.image') || 'proxyv2';
  const imageType = ((proxyConfig.image as ProtoJson | undefined)?.imageType as string | undefined) ?? '';
  return proxyImageURL(values, name, imageType, annotations);
}

/** inject.ProxyInitImage */
export function proxyInitImage(values: ValuesConfig, annotations: Record<string, string>): string {
  return proxyImageURL(values, values.str('global.proxy_init.image') || 'proxyv2', '', annotations);
}

function parseBlock(s: string): { start: number; end: number } | undefined {
  let m = /^\s*(\d+)\/(\d+)/.exec(s);
  if (m) return { start: Number(m[1]), end: Number(m[1]) + Number(m[2]) - 1 };
  m = /^\s*(\d+)-(\d+)/.exec(s);
  if (m) return { start: Number(m[1]), end: Number(m[2]) };
  return undefined;
}

/** GetProxyIDs: 1337, or the top of an OpenShift namespace's preallocated UID / group ranges. */
export function getProxyIDs(ns: NamespaceInfo | undefined): { uid: bigint; gid: bigint } {
  let uid = 1337n, gid = 1337n;
  if (!ns) return { uid, gid };
  const a = ns.annotations ?? {};
  const uidRange = a['openshift.io/sa.scc.uid-range'];
  if (uidRange) {
    const b = parseBlock(uidRange);
    if (b) uid = BigInt(b.end);
  }
  const groups = a['openshift.io/sa.scc.supplemental-groups'] ?? a['openshift.io/sa.scc.uid-range'];
  if (groups) {
    const blocks = groups.split(',').map(parseBlock);
    if (blocks.length && blocks.every(b => b)) gid = BigInt(blocks[0]!.end);
  }
  return { uid, gid };
}

export function extractClusterAndNetwork(p: InjectionParameters): { cluster: string; network: string } {
  let cluster = p.values.str('global.multiCluster.clusterName');
  let network = p.values.str('global.network');
  if (p.proxyEnvs.ISTIO_META_CLUSTER_ID) cluster = p.proxyEnvs.ISTIO_META_CLUSTER_ID;
  if (p.proxyEnvs.ISTIO_META_NETWORK) network = p.proxyEnvs.ISTIO_META_NETWORK;
  const labels = labelsOf(p.pod);
  if (Object.prototype.hasOwnProperty.call(labels, 'topology.istio.io/network')) network = labels['topology.istio.io/network'];
  return { cluster, network };
}

function inboundTrafficPolicyMode(mc: ProtoJson): string {
  return (mc.inboundTrafficPolicy as ProtoJson | undefined)?.mode === 'LOCALHOST' ? 'localhost' : 'passthrough';
}

// ---- status and overrides ----

interface SidecarInjectionStatus {
  initContainers?: string[] | null;
  containers?: string[] | null;
  volumes?: string[] | null;
  imagePullSecrets?: string[] | null;
  revision?: string;
}

function injectionStatus(pod: Pod): SidecarInjectionStatus | undefined {
  const value = annotationsOf(pod)[ANNOTATION.status];
  if (value === undefined) return undefined;
  try {
    const v = JSON.parse(value) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as SidecarInjectionStatus) : undefined;
  } catch {
    return undefined;
  }
}

/** The sidecar.istio.io/status annotation's value for what the templates injected. */
export function injectionStatusValue(spec: JsonObject, revision: string): string {
  const names = (key: string): string[] | null => {
    const l = spec[key];
    return Array.isArray(l) && l.length ? l.map(c => ((c as JsonObject).name as string) ?? '') : null;
  };
  return toGoJson(goStruct('inject.SidecarInjectionStatus', {
    initContainers: names('initContainers'),
    containers: names('containers'),
    volumes: names('volumes'),
    imagePullSecrets: names('imagePullSecrets'),
    revision: revision || 'default',
  }));
}

function parseStatusContainers(status: string): { containers: string[]; initContainers: string[] } {
  try {
    const v = JSON.parse(status) as Record<string, unknown>;
    const list = (k: string): string[] => (Array.isArray(v?.[k]) ? (v[k] as unknown[]).map(String) : []);
    return { containers: list('containers'), initContainers: list('initContainers') };
  } catch {
    return { containers: [], initContainers: [] };
  }
}

function parseOverrides(pod: Pod): { containers: Container[]; initContainers: Container[] } {
  const value = annotationsOf(pod)[ANNOTATION.overrides];
  if (value === undefined) return { containers: [], initContainers: [] };
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch (e) {
    throw new InjectionError((e as Error).message);
  }
  const o = obj(v as Json) ?? {};
  const list = (k: string): Container[] => (roundTrip('[]core.Container', o[k]) as Container[] | null) ?? [];
  return { containers: list('containers'), initContainers: list('initContainers') };
}

// ---- Prometheus ----

function sanitizeLabelName(k: string): string {
  return k.replace(/[^a-zA-Z0-9_]/g, '_');
}

const PROM_SCRAPE = 'prometheus_io_scrape', PROM_PORT = 'prometheus_io_port', PROM_PATH = 'prometheus_io_path';
const PROM_TARGETS = 'prometheus_istio_io_scrape_targets', PROM_SECURE = 'prometheus_istio_io_secure_port';

function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

function getPrometheusScrape(pod: Pod): boolean {
  for (const [k, v] of Object.entries(annotationsOf(pod))) {
    if (sanitizeLabelName(k) !== PROM_SCRAPE) continue;
    const b = parseGoBool(v);
    if (b !== undefined) return b;
  }
  return true;
}

function getPrometheusPort(pod: Pod): string | undefined {
  for (const [k, v] of Object.entries(annotationsOf(pod))) if (sanitizeLabelName(k) === PROM_PORT) return v;
  return undefined;
}

function clearPrometheusAnnotations(pod: Pod): void {
  const a = annotationsOf(pod);
  for (const k of Object.keys(a)) {
    if ([PROM_PATH, PROM_PORT, PROM_SCRAPE, PROM_TARGETS].includes(sanitizeLabelName(k))) delete a[k];
  }
}

function enablePrometheusMerge(mc: ProtoJson, annotations: Record<string, string>, warn: (m: string) => void): boolean {
  if (Object.prototype.hasOwnProperty.call(annotations, ANNOTATION.mergeMetrics)) {
    const b = parseGoBool(annotations[ANNOTATION.mergeMetrics]);
    if (b !== undefined) return b;
    warn(`invalid annotation ${ANNOTATION.mergeMetrics}=false`);
  }
  if (mc.enablePrometheusMerge !== undefined) return mc.enablePrometheusMerge === true;
  return true;
}

const RESERVED_PORTS: Record<string, string> = {
  15000: 'Envoy admin', 15001: 'outbound traffic capture', 15004: 'pilot debug', 15006: 'inbound traffic capture',
  15008: 'HBONE tunnel', 15020: 'pilot-agent status / merged Prometheus', 15021: 'Envoy health', 15053: 'DNS proxy',
  15090: 'Envoy Prometheus (already merged)',
};

function parseScrapeTargets(raw: string): { port: string; path: string }[] {
  const out: { port: string; path: string }[] = [];
  for (let entry of raw.split(',')) {
    entry = entry.trim();
    if (entry === '') continue;
    const i = entry.indexOf(':');
    const port = (i < 0 ? entry : entry.slice(0, i)).trim();
    if (port === '') throw new InjectionError(`empty port in scrape target ${JSON.stringify(entry)}`);
    const p = i < 0 ? '' : entry.slice(i + 1).trim();
    out.push({ port, path: p || '/metrics' });
  }
  return out;
}

function atoi(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}

function applyPrometheusMerge(pod: Pod, mc: ProtoJson, warn: (m: string) => void): void {
  if (!getPrometheusScrape(pod) || !enablePrometheusMerge(mc, annotationsOf(pod), warn)) return;
  const targetPort = String(((mc.defaultConfig as ProtoJson | undefined)?.statusPort as number | undefined) ?? 0);
  if (getPrometheusPort(pod) === targetPort) return;
  const scrape = { scrape: '', path: '', port: '', targets: undefined as { port: string; path: string }[] | undefined };
  for (const [k, v] of Object.entries(annotationsOf(pod))) {
    switch (sanitizeLabelName(k)) {
      case PROM_PORT: scrape.port = v; break;
      case PROM_SCRAPE: scrape.scrape = v; break;
      case PROM_PATH: scrape.path = v; break;
      case PROM_TARGETS:
        try {
          const t = parseScrapeTargets(v);
          scrape.targets = t.length ? t : undefined;
        } catch (e) {
          warn(`failed to parse ${k} annotation: ${(e as Error).message}`);
        }
    }
  }
  const check = (port: string, what: string, conflict: string): void => {
    const n = atoi(port);
    if (n === undefined || n < 1 || n > 65535) throw new InjectionError(`invalid prometheus ${what}: invalid ${what === 'scrape targets' ? 'target ' : ''}port ${JSON.stringify(port)}`);
    const canon = String(n);
    if (canon === targetPort) throw new InjectionError(`invalid prometheus ${what}: ${conflict} ${port} conflicts with agent port`);
    const reason = RESERVED_PORTS[canon];
    if (reason) throw new InjectionError(`invalid prometheus ${what}: ${conflict} ${port} is reserved for Istio (${reason}) and cannot be scraped`);
  };
  if (scrape.targets?.length) {
    scrape.port = scrape.targets[0].port;
    scrape.path = scrape.targets[0].path;
    for (const t of scrape.targets) check(t.port, 'scrape targets', 'target port');
  } else if (scrape.port !== '') {
    check(scrape.port, 'scrape configuration', 'port');
  }
  const sidecar = findSidecar(pod);
  if (sidecar && (scrape.scrape !== '' || scrape.path !== '' || scrape.port !== '' || scrape.targets?.length)) {
    const value = toGoJson(goStruct('status.PrometheusScrapeConfiguration', {
      scrape: scrape.scrape, path: scrape.path, port: scrape.port,
      ...(scrape.targets?.length ? { targets: scrape.targets.map(t => goStruct('status.ScrapeTarget', t)) } : {}),
    }));
    sidecar.env = [...((sidecar.env as Json[] | undefined) ?? []), { name: 'ISTIO_PROMETHEUS_ANNOTATIONS', value }];
  }
  clearPrometheusAnnotations(pod);
  const a = ensureMap(metadataOf(pod), 'annotations');
  a['prometheus.io/port'] = targetPort;
  a['prometheus.io/path'] = '/stats/prometheus';
  a['prometheus.io/scrape'] = 'true';
}

function applySecurePrometheusAnnotation(pod: Pod): void {
  for (const k of Object.keys(annotationsOf(pod))) if (sanitizeLabelName(k) === PROM_SECURE) return;
  const sidecar = findSidecar(pod);
  if (!sidecar) return;
  for (const e of (sidecar.env as JsonObject[] | undefined) ?? []) {
    if (e.name === 'ENVOY_SECURE_MERGED_METRICS_PORT' && e.value && e.value !== '0') {
      ensureMap(metadataOf(pod), 'annotations')['prometheus.istio.io/secure-port'] = e.value as string;
      return;
    }
  }
}

// ---- probes ----

function proberURLs(container: string): [string, string, string, string, string] {
  return [`/app-health/${container}/readyz`, `/app-health/${container}/livez`, `/app-health/${container}/startupz`,
    `/app-lifecycle/${container}/prestopz`, `/app-lifecycle/${container}/poststartz`];
}

export function shouldRewriteAppHTTPProbers(annotations: Record<string, string>, specSetting: boolean): boolean {
  if (Object.prototype.hasOwnProperty.call(annotations, ANNOTATION.rewriteProbers)) {
    const b = parseGoBool(annotations[ANNOTATION.rewriteProbers]);
    if (b !== undefined) return b;
  }
  return specSetting;
}

interface Prober { httpGet?: JsonObject; tcpSocket?: JsonObject; grpc?: JsonObject; timeoutSeconds?: number }

function probeToProber(probe: JsonObject | undefined): Prober | undefined {
  if (!probe) return undefined;
  const t = probe.timeoutSeconds as number | undefined;
  if (probe.httpGet) return { httpGet: probe.httpGet as JsonObject, timeoutSeconds: t };
  if (probe.tcpSocket) return { tcpSocket: probe.tcpSocket as JsonObject, timeoutSeconds: t };
  if (probe.grpc) return { grpc: probe.grpc as JsonObject, timeoutSeconds: t };
  return undefined;
}

function handlerToProber(h: JsonObject | undefined): Prober | undefined {
  if (!h) return undefined;
  if (h.httpGet) return { httpGet: h.httpGet as JsonObject };
  if (h.tcpSocket) return { tcpSocket: h.tcpSocket as JsonObject };
  return undefined;
}

/** DumpAppProbers: ISTIO_KUBE_APP_PROBERS for the application's HTTP/TCP/gRPC probes ('' if none). */
export function dumpAppProbers(pod: Pod, targetPort: number): string {
  const out = new Map<string, Prober>();
  const update = (p: Prober | undefined, portMap: Map<string, number>): Prober | undefined => {
    if (!p) return undefined;
    if (p.grpc) return p;
    const action = p.httpGet ?? p.tcpSocket;
    if (!action) return undefined;
    const port = action.port;
    if (typeof port === 'string') {
      const n = portMap.get(port);
      if (n === undefined) return undefined;
      action.port = n; // Istio rewrites the named port in place
    } else if (port === targetPort) {
      return undefined;
    }
    return p;
  };
  for (const c of [...containers(pod, 'initContainers'), ...containers(pod, 'containers')]) {
    if (c.name === PROXY_CONTAINER) continue;
    const [readyz, livez, startupz, prestopz, poststartz] = proberURLs(c.name as string);
    const portMap = new Map<string, number>();
    for (const p of (c.ports as JsonObject[] | undefined) ?? []) if (p.name) portMap.set(p.name as string, p.containerPort as number);
    const add = (key: string, p: Prober | undefined): void => { const h = update(p, portMap); if (h) out.set(key, h); };
    add(readyz, probeToProber(c.readinessProbe as JsonObject | undefined));
    add(livez, probeToProber(c.livenessProbe as JsonObject | undefined));
    add(startupz, probeToProber(c.startupProbe as JsonObject | undefined));
    const lc = c.lifecycle as JsonObject | undefined;
    if (lc) {
      add(prestopz, handlerToProber(lc.preStop as JsonObject | undefined));
      add(poststartz, handlerToProber(lc.postStart as JsonObject | undefined));
    }
  }
  if (out.size === 0) return '';
  const m: Record<string, unknown> = {};
  for (const k of [...out.keys()].sort()) {
    const p = out.get(k)!;
    m[k] = goStruct('inject.Prober', {
      ...(p.httpGet ? { httpGet: roundTrip('core.HTTPGetAction', p.httpGet) } : {}),
      ...(p.tcpSocket ? { tcpSocket: roundTrip('core.TCPSocketAction', p.tcpSocket) } : {}),
      ...(p.grpc ? { grpc: roundTrip('core.GRPCAction', p.grpc) } : {}),
      ...(p.timeoutSeconds ? { timeoutSeconds: BigInt(p.timeoutSeconds) } : {}),
    });
  }
  return toGoJson(m, { sortKeys: false });
}

function mergeOrAppendProbers(previouslyInjected: boolean, env: JsonObject[], probers: string, warn: (m: string) => void): JsonObject[] {
  const entry = { name: 'ISTIO_KUBE_APP_PROBERS', value: probers };
  if (!previouslyInjected) return [...env, entry];
  const i = env.findIndex(e => e.name === 'ISTIO_KUBE_APP_PROBERS');
  if (i < 0) return [...env, entry];
  let existing: Record<string, unknown>, fresh: Record<string, unknown>;
  try {
    existing = JSON.parse(env[i].value as string) as Record<string, unknown>;
    fresh = JSON.parse(probers) as Record<string, unknown>;
  } catch (e) {
    warn(`failed to unmarshal kubeAppProbers ${(e as Error).message}`);
    return env;
  }
  const merged: Record<string, unknown> = { ...fresh, ...existing };
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(merged).sort()) sorted[k] = merged[k];
  const out = [...env];
  out[i] = { name: 'ISTIO_KUBE_APP_PROBERS', value: toGoJson(sorted) };
  return out;
}

function rewriteHTTPGet(action: JsonObject, url: string, port: number): JsonObject {
  const a: JsonObject = { ...action, port, path: url };
  if (a.scheme === 'HTTPS') a.scheme = 'HTTP';
  return a;
}

function convertProbe(probe: JsonObject | undefined, url: string, port: number): JsonObject | undefined {
  if (!probe) return undefined;
  if (probe.httpGet) return { ...probe, httpGet: rewriteHTTPGet(probe.httpGet as JsonObject, url, port) };
  if (probe.tcpSocket || probe.grpc) {
    const p: JsonObject = { ...probe, httpGet: rewriteHTTPGet({}, url, port) };
    delete p.tcpSocket;
    delete p.grpc;
    return p;
  }
  return undefined;
}

function convertHandler(h: JsonObject | undefined, url: string, port: number): JsonObject | undefined {
  if (!h) return undefined;
  if (h.httpGet) return { ...h, httpGet: rewriteHTTPGet(h.httpGet as JsonObject, url, port) };
  if (h.tcpSocket) {
    const out: JsonObject = { ...h, httpGet: rewriteHTTPGet({}, url, port) };
    delete out.tcpSocket;
    return out;
  }
  return undefined;
}

function convertContainerProbes(c: Container, statusPort: number): void {
  const [readyz, livez, startupz, prestopz, poststartz] = proberURLs(c.name as string);
  for (const [key, url] of [['readinessProbe', readyz], ['livenessProbe', livez], ['startupProbe', startupz]] as const) {
    const p = convertProbe(c[key] as JsonObject | undefined, url, statusPort);
    if (p) c[key] = p;
  }
  const lc = c.lifecycle as JsonObject | undefined;
  if (lc) {
    const pre = convertHandler(lc.preStop as JsonObject | undefined, prestopz, statusPort);
    if (pre) lc.preStop = pre;
    const post = convertHandler(lc.postStart as JsonObject | undefined, poststartz, statusPort);
    if (post) lc.postStart = post;
  }
}

function applyRewrite(pod: Pod, req: InjectionParameters): void {
  const sidecar = findSidecar(pod);
  if (!sidecar) return;
  const annotations = annotationsOf(pod);
  if (!shouldRewriteAppHTTPProbers(annotations, req.values.get('sidecarInjectorWebhook.rewriteAppHTTPProbe') === true)) return;
  const meshStatusPort = ((req.meshConfig.defaultConfig as ProtoJson | undefined)?.statusPort as number | undefined) ?? 0;
  const prober = dumpAppProbers(pod, meshStatusPort);
  if (prober !== '') {
    sidecar.env = mergeOrAppendProbers(ANNOTATION.status in annotations, (sidecar.env as JsonObject[] | undefined) ?? [], prober, req.warn);
  }
  let statusPort = meshStatusPort;
  if (Object.prototype.hasOwnProperty.call(annotations, ANNOTATION.statusPort)) {
    const v = annotations[ANNOTATION.statusPort];
    const p = atoi(v);
    if (p === undefined) req.warn(`Invalid annotation ${ANNOTATION.statusPort}=${v}`);
    statusPort = p ?? 0;
  }
  for (const c of [...containers(pod, 'containers'), ...containers(pod, 'initContainers')]) {
    if (c.name !== PROXY_CONTAINER) convertContainerProbes(c, statusPort);
  }
}

// ---- overlays ----

/** applyOverlayYAML: strategic merge of a rendered template (YAML) over a pod, then Go's decode. */
export function applyOverlayYAML(target: Pod, overlay: string | JsonObject): Pod {
  let patch: unknown;
  try {
    patch = typeof overlay === 'string' ? yamlToJson(overlay) : structuredClone(overlay);
  } catch (e) {
    throw new InjectionError(`strategic merge: invalid JSON document: ${(e as Error).message}`);
  }
  let merged: JsonObject;
  try {
    merged = strategicMerge(structuredClone(target), patch as JsonObject, patchSchema('core.Pod')) as JsonObject;
  } catch (e) {
    throw new InjectionError(`strategic merge: ${(e as Error).message}`);
  }
  try {
    return normalizePod(merged);
  } catch (e) {
    throw new InjectionError(`unmarshal patched pod: ${(e as Error).message}`);
  }
}

function applyContainerOverlay(target: Pod, container: Container, init: boolean): Pod {
  const overlay = normalizePod(init ? { spec: { containers: [], initContainers: [container] } } : { spec: { containers: [container] } });
  try {
    return normalizePod(strategicMerge(structuredClone(target), overlay, patchSchema('core.Pod')));
  } catch (e) {
    throw new InjectionError(`strategic merge: ${(e as Error).message}`);
  }
}

// ---- the steps ----

function stripPod(req: InjectionParameters): Pod {
  const prev = injectionStatus(req.pod);
  if (!prev) return req.pod;
  const pod = structuredClone(req.pod);
  const spec = specOf(pod);
  let cs = containers(pod, 'containers');
  for (const c of prev.containers ?? []) cs = modifyContainers(cs, c, 'remove');
  spec.containers = cs;
  let ics = containers(pod, 'initContainers');
  for (const c of prev.initContainers ?? []) ics = modifyContainers(ics, c, 'remove');
  spec.initContainers = ics;
  const targetPort = String(((req.meshConfig.defaultConfig as ProtoJson | undefined)?.statusPort as number | undefined) ?? 0);
  if (getPrometheusPort(pod) === targetPort) clearPrometheusAnnotations(pod);
  delete annotationsOf(pod)[ANNOTATION.status];
  return normalizePod(pod);
}

function reinsertOverrides(pod: Pod): Pod {
  const o = parseOverrides(pod);
  const out = structuredClone(pod);
  const spec = specOf(out);
  for (const c of o.containers) {
    if (!findContainer(c.name as string, containers(out, 'containers'))) spec.containers = [...containers(out, 'containers'), c];
  }
  for (const c of o.initContainers) {
    if (!findContainer(c.name as string, containers(out, 'initContainers'))) spec.initContainers = [...containers(out, 'initContainers'), c];
  }
  return normalizePod(out);
}

function selectTemplates(p: InjectionParameters): string[] {
  const a = annotationsOf(p.pod);
  const names = Object.prototype.hasOwnProperty.call(a, ANNOTATION.templates)
    ? a[ANNOTATION.templates].split(',').map(s => s.trim())
    : p.defaultTemplate;
  return names.flatMap(n => p.aliases[n] ?? [n]);
}

/** SidecarTemplateData, as the Go struct templates see. */
export function templateData(p: InjectionParameters, stripped: Pod): unknown {
  const annotations = annotationsOf(stripped);
  const { uid, gid } = getProxyIDs(p.namespace);
  return goStruct('*inject.SidecarTemplateData', {
    TypeMeta: goStruct('v1.TypeMeta', { Kind: p.typeMeta.kind, APIVersion: p.typeMeta.apiVersion }),
    DeploymentMeta: goStruct('types.NamespacedName', { Namespace: p.deployMeta.namespace, Name: p.deployMeta.name }),
    ObjectMeta: goView('meta.ObjectMeta', stripped.metadata),
    Spec: goView('core.PodSpec', stripped.spec),
    ProxyConfig: protoView(PROXY_CONFIG, p.proxyConfig),
    MeshConfig: protoView(MESH_CONFIG, p.meshConfig),
    Values: structuredClone(p.values.map),
    Revision: p.revision,
    NativeSidecars: p.nativeSidecar,
    ProxyImage: proxyImage(p.values, p.proxyConfig, annotations),
    ProxyInitImage: proxyInitImage(p.values, annotations),
    ProxyUID: uid,
    ProxyGID: gid,
    InboundTrafficPolicyMode: inboundTrafficPolicyMode(p.meshConfig),
    CompliancePolicy: p.compliancePolicy,
  });
}

/** RunTemplate: renders the selected templates and overlays them; returns the merged and template pods. */
export function runTemplate(p: InjectionParameters): { mergedPod: Pod; templatePod: Pod } {
  const invalid = validateAnnotations(annotationsOf(p.pod));
  if (invalid) throw new InjectionError(invalid);
  const { cluster, network } = extractClusterAndNetwork(p);
  if (cluster !== '') p.proxyEnvs.ISTIO_META_CLUSTER_ID = cluster;
  if (network !== '') p.proxyEnvs.ISTIO_META_NETWORK = network;
  const stripped = reinsertOverrides(stripPod(p));
  const data = templateData(p, stripped);
  let mergedPod = p.pod;
  let templatePod = normalizePod({});
  for (const name of selectTemplates(p)) {
    const tmpl = p.templates.get(name);
    if (!tmpl) {
      throw new InjectionError(`requested template ${JSON.stringify(name)} not found; have ${[...p.templates.keys()].sort().join(', ')}`);
    }
    let rendered: JsonObject;
    try {
      rendered = yamlToJson(tmpl.execute(data)) as JsonObject;
    } catch (e) {
      if (!(e instanceof ProtoError)) throw e;
      throw new InjectionError(`failed applying injection overlay: strategic merge: invalid JSON document: ${e.message}`);
    }
    try {
      templatePod = applyOverlayYAML(templatePod, rendered);
    } catch (e) {
      throw new InjectionError(`failed applying injection overlay: ${(e as Error).message}`);
    }
    let native = p.nativeSidecar;
    const ns = annotationsOf(mergedPod)[ANNOTATION.nativeSidecar];
    if (ns === 'true') native = true;
    else if (ns === 'false') native = false;
    if (native && findContainer(PROXY_CONTAINER, containers(templatePod, 'initContainers')) &&
        findContainer(PROXY_CONTAINER, containers(mergedPod, 'containers'))) {
      mergedPod = structuredClone(mergedPod);
      const spec = specOf(mergedPod);
      const cs = containers(mergedPod, 'containers');
      const i = cs.findIndex(c => c.name === PROXY_CONTAINER);
      const [moved] = cs.splice(i, 1);
      spec.containers = cs;
      spec.initContainers = [...containers(mergedPod, 'initContainers'), moved];
    }
    try {
      mergedPod = applyOverlayYAML(mergedPod, rendered);
    } catch (e) {
      throw new InjectionError(`failed parsing generated injected YAML (check Istio sidecar injector configuration): ${(e as Error).message}`);
    }
  }
  return { mergedPod, templatePod };
}

function reapplyOverwrittenContainers(finalPod: Pod, originalPod: Pod, templatePod: Pod, proxyConfig: ProtoJson, warn: (m: string) => void): Pod {
  const existing = parseOverrides(originalPod);
  const overrides: { containers: Container[]; initContainers: Container[] } = { containers: [], initContainers: [] };
  const status = annotationsOf(originalPod)[ANNOTATION.status];
  const alreadyInjected = status !== undefined;
  const injected = alreadyInjected ? parseStatusContainers(status) : { containers: [], initContainers: [] };
  for (const c of containers(templatePod, 'containers')) {
    if (injected.containers.includes(c.name as string)) continue;
    const match = findContainer(c.name as string, existing.containers) ?? findContainer(c.name as string, containers(originalPod, 'containers'));
    if (!match) continue;
    const overlay = structuredClone(match);
    if (overlay.image === AUTO_IMAGE) overlay.image = '';
    overrides.containers.push(overlay);
    finalPod = applyContainerOverlay(finalPod, overlay, false);
  }
  for (const c of containers(templatePod, 'initContainers')) {
    if (injected.initContainers.includes(c.name as string)) continue;
    const match = findContainer(c.name as string, existing.initContainers) ?? findContainerFromPod(c.name as string, originalPod);
    if (!match) continue;
    const overlay = structuredClone(match);
    if (overlay.image === AUTO_IMAGE) overlay.image = '';
    overrides.initContainers.push(overlay);
    finalPod = applyContainerOverlay(finalPod, overlay, true);
  }
  if (!alreadyInjected && (overrides.containers.length || overrides.initContainers.length)) {
    const enc = (l: Container[]): unknown => l.map(x => roundTrip('core.Container', x));
    // Go's field order for containers (the maps inside are already sorted)
    const value = toGoJson({
      ...(overrides.containers.length ? { containers: enc(overrides.containers) } : {}),
      ...(overrides.initContainers.length ? { initContainers: enc(overrides.initContainers) } : {}),
    }, { sortKeys: false });
    ensureMap(metadataOf(finalPod), 'annotations')[ANNOTATION.overrides] = value;
  }
  adjustInitContainerUser(finalPod, originalPod, proxyConfig, warn);
  return finalPod;
}

function adjustInitContainerUser(finalPod: Pod, originalPod: Pod, proxyConfig: ProtoJson, warn: (m: string) => void): void {
  const user = findSidecar(originalPod);
  const usc = user?.securityContext as JsonObject | undefined;
  if (!user || !usc || (usc.runAsUser === undefined && usc.runAsGroup === undefined) ||
      (usc.runAsUser === null && usc.runAsGroup === null)) return;
  let init: Container | undefined;
  for (const name of [INIT_CONTAINER, VALIDATION_CONTAINER]) {
    init = findContainer(name, containers(finalPod, 'initContainers'));
    if (init) break;
  }
  if (!init) { warn('Could not find either istio-init or istio-validation container'); return; }
  const runAsUser = usc.runAsUser as number | null | undefined;
  const runAsGroup = usc.runAsGroup as number | null | undefined;
  const tproxy = proxyConfig.interceptionMode === 'TPROXY' || annotationsOf(finalPod)[ANNOTATION.interceptionMode] === 'TPROXY';
  if (tproxy && runAsUser !== undefined && runAsUser !== null) {
    const sidecar = findSidecar(finalPod);
    if (!sidecar) { warn('Could not find the istio-proxy container'); return; }
    const sc = (sidecar.securityContext as JsonObject | undefined) ?? {};
    sc.runAsUser = 0;
    sidecar.securityContext = sc;
  }
  if (!tproxy && init.name === VALIDATION_CONTAINER) {
    const sc = (init.securityContext as JsonObject | undefined) ?? {};
    if (runAsUser !== undefined && runAsUser !== null) sc.runAsUser = runAsUser;
    if (runAsGroup !== undefined && runAsGroup !== null) sc.runAsGroup = runAsGroup;
    init.securityContext = sc;
  }
  if (runAsUser === undefined || runAsUser === null || runAsUser === 0) return;
  const args = init.args as string[] | undefined;
  if (!args) return;
  const i = args.indexOf('-u');
  if (i >= 0 && i + 1 < args.length) args[i + 1] = String(runAsUser);
}

function updateClusterEnvs(c: Container, kv: Record<string, string>): void {
  const env = ((c.env as JsonObject[] | undefined) ?? []).filter(e => !((e.name as string) in kv));
  for (const k of Object.keys(kv).sort()) env.push({ name: k, value: kv[k] });
  c.env = env;
}

function reorderPod(pod: Pod, req: InjectionParameters): void {
  let mc = req.meshConfig;
  const pca = annotationsOf(req.pod)[ANNOTATION.proxyConfig];
  if (pca !== undefined) mc = applyProxyConfig(pca, req.meshConfig);
  const hold = ((mc.defaultConfig as ProtoJson | undefined)?.holdApplicationUntilProxyStarts === true) ||
    req.values.get('global.proxy.holdApplicationUntilProxyStarts') === true;
  const spec = specOf(pod);
  spec.containers = modifyContainers(containers(pod, 'containers'), PROXY_CONTAINER, hold ? 'first' : 'last');
  let inits = containers(pod, 'initContainers');
  if (findContainer(PROXY_CONTAINER, inits)) {
    for (const n of [ENABLE_CORE_DUMP, PROXY_CONTAINER, VALIDATION_CONTAINER, INIT_CONTAINER]) inits = modifyContainers(inits, n, 'first');
  } else {
    inits = modifyContainers(inits, VALIDATION_CONTAINER, 'first');
    inits = modifyContainers(inits, INIT_CONTAINER, 'last');
    inits = modifyContainers(inits, ENABLE_CORE_DUMP, 'last');
  }
  spec.initContainers = inits;
}

function postProcessPod(pod: Pod, templatePod: Pod, req: InjectionParameters): void {
  const meta = metadataOf(pod);
  ensureMap(meta, 'annotations');
  ensureMap(meta, 'labels');
  const sidecar = findSidecar(pod);
  if (sidecar && Object.keys(req.proxyEnvs).length) updateClusterEnvs(sidecar, req.proxyEnvs);
  applyPrometheusMerge(pod, req.meshConfig, req.warn);
  applySecurePrometheusAnnotation(pod);
  applyRewrite(pod, req);
  // applyMetadata
  if (req.proxyEnvs.ISTIO_META_NETWORK !== undefined) ensureMap(meta, 'labels')['topology.istio.io/network'] = req.proxyEnvs.ISTIO_META_NETWORK;
  const annotations = ensureMap(meta, 'annotations');
  annotations[ANNOTATION.status] = injectionStatusValue(specOf(templatePod), req.revision);
  for (const [k, v] of Object.entries(req.injectedAnnotations)) annotations[k] = v;
  reorderPod(pod, req);
}

export interface InjectResult {
  patch: PatchOp[];
  /** The injected pod (Go's serialization of it). */
  pod: Pod;
}

/** injectPod: the whole injection of one pod; throws InjectionError (message as Istio's). */
export function injectPod(req: InjectionParameters): InjectResult {
  const dnsPolicy = specOf(req.pod).dnsPolicy;
  if (dnsPolicy && dnsPolicy !== 'ClusterFirst') {
    const meta = metadataOf(req.pod);
    req.warn(`${JSON.stringify(`${(meta.namespace as string | undefined) ?? ''}/${potentialPodName(meta)}`)}'s DNSPolicy is not "ClusterFirst". The Envoy sidecar may not able to connect to Istio Pilot`);
  }
  const original = structuredClone(req.pod);
  let merged: Pod, templatePod: Pod;
  try {
    ({ mergedPod: merged, templatePod } = runTemplate(req));
  } catch (e) {
    throw new InjectionError(`failed to run injection template: ${(e as Error).message}`);
  }
  try {
    merged = reapplyOverwrittenContainers(merged, req.pod, templatePod, req.proxyConfig, req.warn);
  } catch (e) {
    throw new InjectionError(`failed to re apply container: ${(e as Error).message}`);
  }
  merged = structuredClone(merged);
  try {
    postProcessPod(merged, templatePod, req);
  } catch (e) {
    throw new InjectionError(`failed to process pod: ${(e as Error).message}`);
  }
  const pod = normalizePod(merged);
  return { patch: createPatch(original, pod), pod };
}

/**
 * The ProxyConfig a pod gets (Environment.GetProxyConfigOrDefault with no ProxyConfig resources):
 * Istio's defaults, then the mesh's defaultConfig, then the pod's proxy.istio.io/config annotation.
 */
export function effectiveProxyConfig(mc: ProtoJson, annotations: Record<string, string>): ProtoJson {
  const layers: ProtoJson[] = [defaultProxyConfig()];
  if (mc.defaultConfig) layers.push(mc.defaultConfig as ProtoJson);
  const pca = annotations[ANNOTATION.proxyConfig];
  if (pca !== undefined) {
    try {
      const pc: ProtoJson = {};
      mergeProxyConfig(pca, pc);
      layers.push(pc);
    } catch {
      // Istio ignores an annotation it cannot parse here (validation reports it)
    }
  }
  let merged: ProtoJson = {};
  for (const l of layers) merged = mergeProxyConfig(protoToJson(PROXY_CONFIG, cloneProto(l)), merged);
  return merged;
}

export { cloneProto };
