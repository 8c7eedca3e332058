// kube-inject (Istio's IntoResourceFile / IntoObject): injects sidecars into the pod templates of
// workload manifests (multi-document YAML, `kind: List`), leaving every other document as it was,
// and prints the result the way istioctl does (Go's Kubernetes serialization, `---` after each
// document).

import { toGoYaml, type Template } from '../template/index.js';
import { parseGoYaml, type ValuesConfig } from './config.js';
import {
  annotationsOf, detectNativeSidecar, IGNORED_NAMESPACES, injectPod, injectRequired, InjectionError, normalizePod,
  ANNOTATION, type InjectionFeatures, type NodeInfo, type Pod, type TypeMeta, type NamespacedName,
} from './inject.js';
import { roundTrip, type Json, type JsonObject } from './k8s/types.js';
import { applyProxyConfig, type ProtoJson } from './mesh.js';

export interface KubeInjectOptions {
  templates: Map<string, Template>;
  values: ValuesConfig;
  meshConfig: ProtoJson;
  /** Revision templates see (`""` renders as `default`). */
  revision: string;
  features: InjectionFeatures;
  /** Nodes of the cluster, when kube-inject can see one (native-sidecar detection). */
  nodes?: NodeInfo[];
  /** Receives Istio's warnings (skipped workloads...). */
  warn?: (msg: string) => void;
}

/** The kinds kube-inject decodes (any apiVersion, as Istio registers them unversioned). */
const KINDS: Record<string, string> = {
  ReplicationController: 'core.ReplicationController',
  Pod: 'core.Pod',
  Deployment: 'apps.Deployment',
  DaemonSet: 'apps.DaemonSet',
  ReplicaSet: 'apps.ReplicaSet',
  Job: 'batch.Job',
  CronJob: 'batch.CronJob',
  StatefulSet: 'apps.StatefulSet',
  DeploymentConfig: 'oapps.DeploymentConfig',
};

export class KubeInjectError extends Error {}

/** Splits a YAML stream into documents like k8s.io/apimachinery's YAMLReader (empty documents skipped). */
export function splitYamlDocuments(text: string): string[] {
  const docs: string[] = [];
  let buf = '';
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  for (const line of lines) {
    if (line.startsWith('---')) {
      const rest = line.slice(3).trim();
      if (rest.length > 0 && !rest.startsWith('#')) throw new KubeInjectError(`invalid Yaml document separator: ${rest}`);
      if (buf.length) docs.push(buf);
      buf = '';
      continue;
    }
    buf += line;
  }
  if (buf.length) docs.push(buf);
  return docs;
}

function typeMetaOf(v: unknown): TypeMeta {
  const o = (v && typeof v === 'object' && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  return {
    kind: typeof o.kind === 'string' ? o.kind : '',
    apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : '',
  };
}

function decodeYaml(raw: string): unknown {
  try {
    return parseGoYaml(raw);
  } catch (e) {
    throw new KubeInjectError(`error converting YAML to JSON: ${(e as Error).message}`);
  }
}

function decode(type: string, v: unknown): JsonObject {
  try {
    return roundTrip(type, v) as JsonObject;
  } catch (e) {
    throw new KubeInjectError(`error unmarshaling JSON: while decoding JSON: ${(e as Error).message}`);
  }
}

const cronJobName = /^(.+)-\d{8,10}$/;

/** kube.GetDeployMetaFromPod: the workload owning a pod, from its owner reference and labels. */
export function deployMetaFromPod(pod: Pod): { deployMeta: NamespacedName; typeMeta: TypeMeta } {
  const meta = (pod.metadata ?? {}) as JsonObject;
  const labels = (meta.labels ?? {}) as Record<string, string>;
  const deployMeta: NamespacedName = { name: (meta.name as string | undefined) ?? '', namespace: (meta.namespace as string | undefined) ?? '' };
  const typeMeta: TypeMeta = { kind: 'Pod', apiVersion: 'v1' };
  if (meta.generateName) {
    const ref = ((meta.ownerReferences as JsonObject[] | undefined) ?? []).find(r => r.controller === true);
    if (ref) {
      typeMeta.apiVersion = (ref.apiVersion as string) ?? '';
      typeMeta.kind = (ref.kind as string) ?? '';
      const refName = (ref.name as string) ?? '';
      deployMeta.name = refName;
      const hash = labels['pod-template-hash'], rolloutHash = labels['rollouts-pod-template-hash'];
      if (typeMeta.kind === 'ReplicaSet' && hash && refName.endsWith(hash)) {
        deployMeta.name = refName.endsWith('-' + hash) ? refName.slice(0, -(hash.length + 1)) : refName;
        typeMeta.kind = 'Deployment';
      } else if (typeMeta.kind === 'ReplicaSet' && rolloutHash && refName.endsWith(rolloutHash)) {
        deployMeta.name = refName.endsWith('-' + rolloutHash) ? refName.slice(0, -(rolloutHash.length + 1)) : refName;
        typeMeta.kind = 'Rollout';
        typeMeta.apiVersion = 'v1alpha1';
      } else if (typeMeta.kind === 'ReplicationController' && labels.deploymentconfig) {
        deployMeta.name = labels.deploymentconfig;
        typeMeta.kind = 'DeploymentConfig';
      } else if (typeMeta.kind === 'Job') {
        const m = cronJobName.exec(refName);
        if (m) {
          deployMeta.name = m[1];
          typeMeta.kind = 'CronJob';
          typeMeta.apiVersion = 'batch/v1';
        }
      }
    }
  }
  if (deployMeta.name === '') deployMeta.name = (meta.name as string | undefined) ?? '';
  return { deployMeta, typeMeta };
}

interface Located {
  metadata: JsonObject;
  spec: JsonObject;
  set(metadata: Json, spec: Json): void;
  deployMeta: NamespacedName;
  typeMeta: TypeMeta;
}

function obj(v: Json | undefined): JsonObject {
  return (v && typeof v === 'object' && !Array.isArray(v) ? v : {}) as JsonObject;
}

function locate(kind: string, o: JsonObject): Located {
  const tm = typeMetaOf(o);
  const meta = obj(o.metadata);
  const own = { name: (meta.name as string | undefined) ?? '', namespace: (meta.namespace as string | undefined) ?? '' };
  if (kind === 'CronJob') {
    const jt = obj(obj(o.spec).jobTemplate);
    const tmpl = obj(obj(jt.spec).template);
    return {
      metadata: obj(jt.metadata), spec: obj(tmpl.spec), deployMeta: own, typeMeta: tm,
      set: (m, s) => { jt.metadata = m; tmpl.spec = s; },
    };
  }
  if (kind === 'Pod') {
    const { deployMeta, typeMeta } = deployMetaFromPod(o);
    return { metadata: meta, spec: obj(o.spec), deployMeta, typeMeta, set: (m, s) => { o.metadata = m; o.spec = s; } };
  }
  const spec = obj(o.spec);
  if ((kind === 'ReplicationController' || kind === 'DeploymentConfig') && (spec.template === null || spec.template === undefined)) {
    throw new KubeInjectError('spec.template is required value');
  }
  const tmpl = obj(spec.template);
  return {
    metadata: obj(tmpl.metadata), spec: obj(tmpl.spec), deployMeta: own, typeMeta: tm,
    set: (m, s) => { tmpl.metadata = m; tmpl.spec = s; },
  };
}

/** IntoObject: injects one decoded workload (or List); returns the object to print. */
export function intoObject(kind: string, decoded: JsonObject, opts: KubeInjectOptions): JsonObject {
  const warn = opts.warn ?? (() => undefined);
  if (kind === 'List') {
    const items = (Array.isArray(decoded.items) ? decoded.items : []) as Json[];
    const out: Json[] = items.map(item => {
      const tm = typeMetaOf(item);
      if (tm.kind === 'List') {
        const l = obj(item);
        return intoObject('List', { ...l, metadata: decode('meta.ListMeta', l.metadata) }, opts);
      }
      const type = KINDS[tm.kind];
      if (!type) return item;
      const decodedItem = decode(type, item);
      return intoObject(tm.kind, decodedItem, opts);
    });
    return { ...decoded, items: out };
  }
  const out = structuredClone(decoded);
  const loc = locate(kind, out);
  const name = (loc.metadata.name as string | undefined) || loc.deployMeta.name;
  const fullName = loc.deployMeta.namespace ? `${loc.deployMeta.namespace}/${name}` : name;
  const what = loc.typeMeta.kind ? `${loc.typeMeta.kind} ${JSON.stringify(fullName)}` : JSON.stringify(fullName);
  if (loc.spec.hostNetwork === true) {
    warn(`===> Skipping injection because ${what} has host networking enabled\n`);
    return out;
  }
  const pod = normalizePod({ metadata: loc.metadata, spec: loc.spec });
  let meshConfig = opts.meshConfig;
  const pca = annotationsOf(pod)[ANNOTATION.proxyConfig];
  if (pca !== undefined) {
    try {
      meshConfig = applyProxyConfig(pca, meshConfig);
    } catch (e) {
      throw new KubeInjectError((e as Error).message);
    }
  }
  if (!injectRequired(IGNORED_NAMESPACES, { policy: 'enabled', neverInjectSelector: [], alwaysInjectSelector: [] },
    obj(pod.spec), obj(pod.metadata), warn)) {
    warn(`===> Skipping injection because ${what} has sidecar injection disabled\n`);
    return out;
  }
  const nativeSidecar = opts.nodes
    ? detectNativeSidecar(opts.features.nativeSidecars, opts.nodes, (obj(pod.spec).nodeName as string | undefined) ?? '', warn)
    : opts.features.nativeSidecars === 'true';
  let result;
  try {
    result = injectPod({
      pod, deployMeta: loc.deployMeta, typeMeta: loc.typeMeta, nativeSidecar,
      templates: opts.templates, defaultTemplate: ['sidecar'], aliases: {},
      meshConfig, proxyConfig: (meshConfig.defaultConfig as ProtoJson | undefined) ?? {}, values: opts.values,
      revision: opts.revision, proxyEnvs: {}, injectedAnnotations: {}, compliancePolicy: opts.features.compliancePolicy, warn,
    });
  } catch (e) {
    if (e instanceof InjectionError) throw new KubeInjectError(e.message);
    throw e;
  }
  loc.set(result.pod.metadata ?? {}, result.pod.spec ?? {});
  return decode(KINDS[kind] ?? 'core.Pod', out);
}

/** One input document's outcome: printed text, or the document unchanged. */
export function injectDocument(raw: string, opts: KubeInjectOptions): string {
  const v = decodeYaml(raw);
  if (v !== null && (typeof v !== 'object' || Array.isArray(v))) {
    const kind = Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v;
    throw new KubeInjectError(`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${kind} into Go value of type v1.TypeMeta`);
  }
  const tm = typeMetaOf(v);
  if (tm.kind === 'List') {
    const list = obj(v as Json);
    const items = Array.isArray(list.items) ? list.items : [];
    const decoded: JsonObject = {
      ...(tm.apiVersion ? { apiVersion: tm.apiVersion } : {}), kind: 'List',
      metadata: decode('meta.ListMeta', list.metadata), items,
    };
    return toGoYaml(intoObject('List', decoded, opts));
  }
  const type = KINDS[tm.kind];
  if (!type) return raw;
  return toGoYaml(intoObject(tm.kind, decode(type, v), opts));
}

/** IntoResourceFile: the whole kube-inject output for a YAML stream. */
export function intoResourceFile(text: string, opts: KubeInjectOptions): string {
  let out = '';
  for (const doc of splitYamlDocuments(text)) out += injectDocument(doc, opts) + '---\n';
  return out;
}
