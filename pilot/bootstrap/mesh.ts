// The mesh config file (`--meshConfig`, Istio's `mesh` ConfigMap key) as translation reads it:
// parsed and checked as Istio parses it, over Istio's defaults.
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ConfigStore } from '../config/store.js';
import type { ConfigMapBody } from '../config/schema/ingress.js';
import { meshConfigFromYaml } from '../../webhook/inject/mesh.js';
import { defaultMeshConfig, type MeshConfig } from '../model/mesh.js';
import { meshConfigFromJson } from '../model/mesh-json.js';

/** Parses mesh config YAML over Istio's defaults; throws what Istio would reject it for. */
export function parseMeshConfig(text: string): MeshConfig {
  const { mesh, errors } = meshConfigFromJson(meshConfigFromYaml(text));
  if (errors.length) throw new Error(errors.join('; '));
  return mesh;
}

/** Istio's defaults when there is no file; a file Istio would reject is reported and ignored. */
export function loadMeshConfig(file: string | undefined, log: Pick<Logger, 'info' | 'warn'>): MeshConfig {
  if (!file || !existsSync(file)) return defaultMeshConfig();
  try {
    const mesh = parseMeshConfig(readFileSync(file, 'utf8'));
    log.info({ file, outboundTrafficPolicy: mesh.outboundTrafficPolicy }, 'mesh config loaded');
    return mesh;
  } catch (e) {
    log.warn({ file }, `mesh config rejected, using Istio's defaults: ${(e as Error).message}`);
    return defaultMeshConfig();
  }
}

/**
 * In a cluster without a mounted file, istiod reads the `mesh` key of its ConfigMap (`istio`, or
 * `istio-REVISION`) in its own namespace, and follows edits. `onChange` gets each new valid
 * version; an invalid edit is reported and the config in force stays.
 */
export function watchMeshConfigMap(
  store: ConfigStore,
  where: { namespace: string; name: string },
  onChange: (mesh: MeshConfig) => void,
  log: Pick<Logger, 'info' | 'warn'>,
): { initial: MeshConfig; stop: () => void } {
  let lastText: string | undefined;
  const read = (): MeshConfig | undefined => {
    const text = store.get<ConfigMapBody>('ConfigMap', where.namespace, where.name)?.spec.data?.mesh ?? '';
    if (text === lastText) return undefined;
    lastText = text;
    try {
      const mesh = parseMeshConfig(text);
      log.info({ configMap: `${where.namespace}/${where.name}`, outboundTrafficPolicy: mesh.outboundTrafficPolicy }, 'mesh config loaded');
      return mesh;
    } catch (e) {
      log.warn({ configMap: `${where.namespace}/${where.name}` }, `mesh config rejected, keeping the one in force: ${(e as Error).message}`);
      return undefined;
    }
  };
  const initial = read() ?? defaultMeshConfig();
  const key = `ConfigMap/${where.namespace}/${where.name}`;
  const stop = store.onChange((e) => {
    if (!e.changed.has(key)) return;
    const mesh = read();
    if (mesh) onChange(mesh);
  });
  return { initial, stop };
}
