// The injection webhook's admission logic (Istio's Webhook.inject / serveInject without the HTTP
// plumbing): AdmissionReview in (v1, or v1beta1 as Istio also accepts), AdmissionReview out with a
// JSONPatch, and an AdmissionReview error — never an exception — for anything malformed.

import type { InjectConfig, ValuesConfig } from './config.js';
import {
  annotationsOf, detectNativeSidecar, effectiveProxyConfig, findSidecar, IGNORED_NAMESPACES, injectPod, injectRequired,
  metadataOf, normalizePod, specOf, extractClusterAndNetwork,
  type InjectionFeatures, type InjectionParameters, type NamespaceInfo, type NodeInfo,
} from './inject.js';
import { deployMetaFromPod } from './kube.js';
import { DecodeError, type JsonObject } from './k8s/types.js';
import type { PatchOp } from './jsonpatch.js';
import { selectingWebhook } from './selection.js';
import type { ProtoJson } from './mesh.js';

export interface WebhookSettings {
  config: InjectConfig;
  values: ValuesConfig;
  meshConfig: ProtoJson;
  /** The istio.io/rev this injector serves (`default` by default). */
  revision?: string;
  features: InjectionFeatures;
  /**
   * Also apply the namespace/object selectors of Istio's MutatingWebhookConfiguration (see
   * selection.ts) — for setups where the API server sends this webhook every pod. Needs
   * ClusterView.namespace for namespace labels. Off by default: the API server selects.
   */
  enforceNamespaceSelection?: boolean;
  /** sidecarInjectorWebhook.enableNamespacesByDefault, for enforceNamespaceSelection. */
  enableNamespacesByDefault?: boolean;
}

/** What the webhook reads from the cluster (node versions, OpenShift namespace annotations). */
export interface ClusterView {
  /** All nodes, or undefined when the webhook has no cluster access. */
  nodes?(clusterID: string): NodeInfo[] | undefined;
  namespace?(clusterID: string, name: string): NamespaceInfo | undefined;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { metadata: Record<string, never>; message: string };
  patch?: string;
  patchType?: 'JSONPatch';
}

export interface AdmissionReviewOut {
  kind?: string;
  apiVersion?: string;
  response: AdmissionResponse;
}

export interface InjectOutcome {
  response: AdmissionResponse;
  /** The patch, decoded (for logs and tests). */
  patch?: PatchOp[];
}

const ADMISSION_VERSIONS = ['admission.k8s.io/v1', 'admission.k8s.io/v1beta1'];

/** URL parameters in the webhook path that become proxy env vars (`/inject/cluster/c1/net/n1`). */
const URL_PARAMETER_TO_ENV: Record<string, string> = { cluster: 'ISTIO_META_CLUSTER_ID', net: 'ISTIO_META_NETWORK' };

/** parseInjectEnvs: `/inject/k1/v1/k2/v2` (values may spell `/` as `--slash--`), or the old `:ENV:` form. */
export function parseInjectEnvs(path: string, warn: (m: string) => void = () => undefined): Record<string, string> {
  path = path.endsWith('/') ? path.slice(0, -1) : path;
  const parts = path.split('/');
  let res: string[] = [];
  if (parts.length >= 3) {
    const rest = parts.slice(2).join('/');
    if (rest.startsWith(':ENV:')) {
      for (const pair of rest.split(':ENV:').slice(1)) {
        const i = pair.indexOf('=');
        if (i > 0) res.push(pair.slice(0, i), pair.slice(i + 1));
      }
    } else {
      res = rest.split('/').map((v, i) => (i % 2 !== 0 ? v.split('--slash--').join('/') : v));
    }
  }
  const envs: Record<string, string> = {};
  for (let i = 0; i < res.length; i += 2) {
    const k = res[i];
    if (i === res.length - 1) {
      warn(`Odd number of inject env entries, ignore the last key ${k}`);
      break;
    }
    const env = URL_PARAMETER_TO_ENV[k] ?? k.toUpperCase();
    if (env !== '') envs[env] = res[i + 1];
  }
  return envs;
}

function errorResponse(uid: string, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { metadata: {}, message } };
}

function isUserMatchingAppUser(pod: JsonObject): boolean {
  let sidecarUser = 0, appUser = 0;
  const spec = specOf(pod);
  for (const c of [...((spec.containers as JsonObject[] | null) ?? []), ...((spec.initContainers as JsonObject[] | null) ?? [])]) {
    const u = (c.securityContext as JsonObject | undefined)?.runAsUser as number | undefined | null;
    if (c.name === 'istio-proxy') { if (u !== undefined && u !== null) sidecarUser = u; }
    else if (c.name !== 'istio-validation' && c.name !== 'istio-init' && u !== undefined && u !== null) appUser = u;
  }
  return sidecarUser === appUser;
}

/** Sidecar injection webhook: holds the current configuration (hot-swappable) and answers reviews. */
export class InjectionWebhook {
  private settings: WebhookSettings;

  constructor(settings: WebhookSettings, private readonly cluster: ClusterView = {},
    private readonly log: { info(m: string): void; warn(m: string): void } = { info: () => undefined, warn: () => undefined }) {
    this.settings = settings;
  }

  /** Replaces the injection configuration (a changed ConfigMap or file). */
  update(settings: Partial<WebhookSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  get current(): WebhookSettings {
    return this.settings;
  }

  /**
   * Handles a decoded request body. Malformed reviews get an AdmissionReview whose response is not
   * allowed and carries the reason (what Istio answers, with HTTP 200).
   */
  review(body: unknown, path = '/inject'): AdmissionReviewOut {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { response: errorResponse('', 'couldn\'t get version/kind; json parse error: the request body is not a JSON object') };
    }
    const b = body as Record<string, unknown>;
    const apiVersion = typeof b.apiVersion === 'string' ? b.apiVersion : '';
    const kind = typeof b.kind === 'string' ? b.kind : '';
    if (kind === '') return { response: errorResponse('', `Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 200)}'`) };
    if (kind !== 'AdmissionReview' || !ADMISSION_VERSIONS.includes(apiVersion)) {
      return { response: errorResponse('', `no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)}`) };
    }
    const request = b.request;
    const out = (response: AdmissionResponse): AdmissionReviewOut => ({ kind, apiVersion, response });
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return out(errorResponse('', 'AdmissionReview has no request'));
    }
    const req = request as Record<string, unknown>;
    const uid = typeof req.uid === 'string' ? req.uid : '';
    try {
      const { response } = this.inject(req, path);
      return out({ ...response, uid });
    } catch (e) {
      // Never let a bad object take the handler down: report it in the review.
      return out(errorResponse(uid, (e as Error).message));
    }
  }

  /** Webhook.inject for one AdmissionRequest (its `object` a Pod). */
  inject(req: Record<string, unknown>, path = '/inject'): InjectOutcome {
    const s = this.settings;
    const uid = typeof req.uid === 'string' ? req.uid : '';
    let pod: JsonObject;
    try {
      if (req.object === undefined || req.object === null) throw new DecodeError('unexpected end of JSON input');
      pod = normalizePod(req.object);
    } catch (e) {
      const msg = (e as Error).message;
      this.log.warn(`Could not unmarshal raw object: ${msg}`);
      return { response: errorResponse(uid, msg) };
    }
    const meta = metadataOf(pod);
    delete meta.managedFields;
    if (!meta.namespace && typeof req.namespace === 'string' && req.namespace) meta.namespace = req.namespace;
    const podNs = (meta.namespace as string | undefined) ?? '';
    if (s.enforceNamespaceSelection) {
      const ns = this.cluster.namespace?.('Kubernetes', podNs);
      const selected = selectingWebhook({
        namespace: podNs, namespaceLabels: ns?.labels, podLabels: (meta.labels ?? {}) as Record<string, string>,
        revision: s.revision === 'default' ? '' : s.revision ?? '', enableNamespacesByDefault: s.enableNamespacesByDefault,
      });
      if (!selected) return { response: { uid, allowed: true } };
    }
    if (!injectRequired(IGNORED_NAMESPACES, s.config, specOf(pod), meta, m => this.log.warn(m))) {
      this.log.info(`Skipping due to policy check: ${podNs}/${(meta.name as string | undefined) ?? (meta.generateName as string | undefined) ?? ''}`);
      return { response: { uid, allowed: true } };
    }
    const proxyConfig = effectiveProxyConfig(s.meshConfig, annotationsOf(pod));
    const { deployMeta, typeMeta } = deployMetaFromPod(pod);
    const params: InjectionParameters = {
      pod, deployMeta, typeMeta, nativeSidecar: false,
      templates: s.config.templates, defaultTemplate: s.config.defaultTemplates, aliases: s.config.aliases,
      meshConfig: s.meshConfig, proxyConfig, values: s.values, revision: s.revision ?? 'default',
      proxyEnvs: parseInjectEnvs(path, m => this.log.warn(m)), injectedAnnotations: s.config.injectedAnnotations,
      compliancePolicy: s.features.compliancePolicy, warn: m => this.log.warn(m),
    };
    const clusterID = extractClusterAndNetwork({ ...params, proxyEnvs: { ...params.proxyEnvs } }).cluster || 'Kubernetes';
    if (s.features.platform === 'openshift') {
      params.namespace = this.cluster.namespace?.(clusterID, podNs);
      const sidecar = findSidecar(pod);
      const sc = sidecar?.securityContext as JsonObject | undefined;
      if (sidecar && sc && isUserMatchingAppUser(pod)) {
        delete sc.runAsUser;
        delete sc.runAsGroup;
        params.pod = pod = normalizePod(pod);
      }
    }
    params.nativeSidecar = s.features.nativeSidecars === 'false' ? false
      : detectNativeSidecar(s.features.nativeSidecars, this.cluster.nodes ? this.cluster.nodes(clusterID) : undefined,
        (specOf(pod).nodeName as string | undefined) ?? '', m => this.log.warn(m));
    try {
      const result = injectPod(params);
      return {
        response: { uid, allowed: true, patch: Buffer.from(JSON.stringify(result.patch)).toString('base64'), patchType: 'JSONPatch' },
        patch: result.patch,
      };
    } catch (e) {
      const msg = (e as Error).message;
      this.log.warn(`Pod injection failed: ${msg}`);
      return { response: errorResponse(uid, msg) };
    }
  }
}
