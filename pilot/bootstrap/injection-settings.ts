// Where the injection webhook's settings come from: Istio's injector config (`config`, `values`)
// and mesh config (`mesh`), as files (mounted ConfigMaps, `--injectConfigDir` and
// `--meshConfig`) or, in Kubernetes mode, straight from the ConfigMaps `istio-sidecar-injector`
// and `istio` (with `-REVISION`) in the control plane's namespace, as Istio's current chart no
// longer mounts the mesh ConfigMap. Files win where they exist; edits of either are followed.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigStore } from '../config/store.js';
import type { ConfigMapBody } from '../config/schema/ingress.js';
import { InjectionWebhook } from '../../webhook/inject/webhook.js';
import { settingsFromConfigMaps, settingsFromFiles, watchSettingsFiles, type ConfigMapLike } from '../../webhook/inject/load.js';
import { applyMeshConfig, defaultMeshConfig } from '../../webhook/inject/mesh.js';

export interface InjectionSources {
  injectConfigDir?: string;
  meshConfigFile?: string;
  kube?: { store: ConfigStore; namespace: string; revision: string };
}

export function startInjection(src: InjectionSources, log: Pick<Logger, 'warn' | 'info'>): { injector?: InjectionWebhook; stop(): void } {
  const dir = src.injectConfigDir;
  const meshFile = src.meshConfigFile && existsSync(src.meshConfigFile) ? src.meshConfigFile : undefined;
  const files = dir && existsSync(join(dir, 'config')) && existsSync(join(dir, 'values')) ? { injectConfigFile: join(dir, 'config'), valuesFile: join(dir, 'values'), meshConfigFile: meshFile } : undefined;
  const kube = src.kube;
  const suffix = kube && kube.revision !== 'default' ? `-${kube.revision}` : '';
  const configMap = (name: string): ConfigMapLike | undefined => {
    const cm = kube?.store.get<ConfigMapBody>('ConfigMap', kube.namespace, name);
    return cm ? { metadata: { name, namespace: kube!.namespace }, data: cm.spec.data } : undefined;
  };
  const meshMap = () => (meshFile ? undefined : configMap(`istio${suffix}`));
  const injectorMap = () => (files ? undefined : configMap(`istio-sidecar-injector${suffix}`));

  const opts = { revision: kube?.revision ?? 'default' };
  const settings = () => {
    if (files) {
      const s = settingsFromFiles(files, opts);
      const meshYaml = meshMap()?.data?.mesh;
      if (meshYaml === undefined) return s;
      try {
        return { ...s, meshConfig: applyMeshConfig(meshYaml, defaultMeshConfig()) };
      } catch (e) {
        log.warn({}, `mesh config rejected for injection, using Istio's defaults: ${(e as Error).message}`);
        return s;
      }
    }
    const injector = injectorMap();
    return injector ? settingsFromConfigMaps(injector, meshMap(), opts) : undefined;
  };

  let first;
  try {
    first = settings();
  } catch (e) {
    log.warn({ dir }, `injection config rejected: ${(e as Error).message}`);
  }
  if (!first) {
    if (!files) log.warn({ dir }, kube ? `no injection config (files in ${dir}, or the ConfigMap ${kube.namespace}/istio-sidecar-injector${suffix}): /inject is not served` : 'no injection config (config and values) found: /inject is not served');
    return { stop() {} };
  }
  const injector = new InjectionWebhook(first);
  const reload = () => {
    try {
      const next = settings();
      if (next) injector.update(next);
    } catch (e) {
      log.warn({}, `injection config rejected, keeping the one in force: ${(e as Error).message}`);
    }
  };
  const stopFiles = files ? watchSettingsFiles(files, () => reload()) : undefined;
  const watched = new Set([`ConfigMap/${kube?.namespace}/istio${suffix}`, `ConfigMap/${kube?.namespace}/istio-sidecar-injector${suffix}`]);
  const stopStore = kube?.store.onChange((e) => {
    if ([...e.changed].some((k) => watched.has(k))) reload();
  });
  return {
    injector,
    stop() {
      if (typeof stopFiles === 'function') stopFiles();
      stopStore?.();
    },
  };
}
