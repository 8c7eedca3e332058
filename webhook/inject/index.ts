// Sidecar injection: Istio's injection configuration, policy, template rendering and
// post-processing (inject.ts), kube-inject (kube.ts), the webhook's admission logic (webhook.ts).
// The HTTPS server is ../server.ts.

export { ConfigError, unmarshalConfig, configFromTemplates, parseTemplates, ValuesConfig, selectorMatches, type InjectConfig, type LabelSelector } from './config.js';
export {
  injectPod, injectRequired, detectNativeSidecar, featuresFromEnv, normalizePod, effectiveProxyConfig, InjectionError, IGNORED_NAMESPACES,
  type InjectionFeatures, type InjectionParameters, type NodeInfo, type NamespaceInfo, type Pod, type InjectResult,
} from './inject.js';
export { intoResourceFile, intoObject, injectDocument, splitYamlDocuments, deployMetaFromPod, KubeInjectError, type KubeInjectOptions } from './kube.js';
export { InjectionWebhook, parseInjectEnvs, type WebhookSettings, type ClusterView, type AdmissionReviewOut, type AdmissionResponse } from './webhook.js';
export { settingsFromConfigMaps, settingsFromFiles, watchSettingsFiles, configMapsFromYaml, readInjectConfig, type ConfigMapLike, type InjectionFiles } from './load.js';
export {
  applyMeshConfig, applyProxyConfig, defaultMeshConfig, defaultProxyConfig, meshConfigFromYaml, mergeProxyConfig, protoToJson,
  MESH_CONFIG, PROXY_CONFIG, ProtoError, type ProtoJson,
} from './mesh.js';
export { createPatch, applyPatch, type PatchOp, JsonPatchError } from './jsonpatch.js';
export { strategicMergeType, PatchError } from './smp.js';
export { roundTrip, DecodeError } from './k8s/types.js';
export { validateAnnotations } from './validate.js';
export { selectingWebhook, chartWebhookSelectors } from './selection.js';
