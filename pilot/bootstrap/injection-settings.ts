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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InjectionWebhook } from '../../webhook/inject/webhook.js';
import { injectHandler } from '../../webhook/server.js';
import { settingsFromConfigMaps, settingsFromFiles, watchSettingsFiles, type ConfigMapLike } from '../../webhook/inject/load.js';
import { applyMeshConfig, defaultMeshConfig } from '../../webhook/inject/mesh.js';

export interface InjectionSources {
  injectConfigDir?: string;
  meshConfigFile?: string;
  kube?: { store: ConfigStore; namespace: string; revision: string };
}

export interface Injection {
  /** The `/inject` handler; absent when there is nothing to inject with (no files, no cluster). */
  handler?: (req: IncomingMessage, res: ServerResponse) => boolean;
  ready?: () => boolean;
  stop(): void;
}

export function startInjection(src: InjectionSources, log: Pick<Logger, 'warn' | 'info'>): Injection {
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

  // In a cluster the ConfigMaps may come (or be fixed) later: /inject is served from the start
  // and answers 503 until there are valid settings. Without a cluster or files there is none.
  let injector: InjectionWebhook | undefined;
  let handle: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  const load = (first: boolean) => {
    let next;
    try {
      next = settings();
    } catch (e) {
      log.warn({ dir }, `injection config rejected${injector ? ', keeping the one in force' : ''}: ${(e as Error).message}`);
      return;
    }
    if (!next) {
      if (first) log.warn({ dir }, kube ? `no injection config yet (files in ${dir}, or the ConfigMap ${kube.namespace}/istio-sidecar-injector${suffix}): /inject answers 503 until there is` : 'no injection config (config and values) found: /inject is not served');
      return;
    }
    if (injector) injector.update(next);
    else {
      injector = new InjectionWebhook(next);
      handle = injectHandler(injector, metrics, { info: (m) => log.info({}, m), warn: (m) => log.warn({}, m) });
    }
  };
  const metrics = { total: 0, success: 0, skipped: 0, failed: 0 };
  load(true);
  if (!files && !kube) return { stop() {} };

  const stopFiles = files ? watchSettingsFiles(files, () => load(false)) : undefined;
  const watched = new Set([`ConfigMap/${kube?.namespace}/istio${suffix}`, `ConfigMap/${kube?.namespace}/istio-sidecar-injector${suffix}`]);
  const stopStore = kube?.store.onChange((e) => {
    if ([...e.changed].some((k) => watched.has(k))) load(false);
  });
  return {
    handler: (req, res) => {
      if (handle) return handle(req, res);
      const path = new URL(req.url ?? '/', 'https://webhook').pathname;
      if (path !== '/inject' && !path.startsWith('/inject/')) return false;
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('injection config not loaded yet\n');
      return true;
    },
    ready: () => injector !== undefined,
    stop() {
      if (typeof stopFiles === 'function') stopFiles();
      stopStore?.();
    },
  };
}
