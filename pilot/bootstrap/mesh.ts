// The mesh config file (`--meshConfig`, Istio's `mesh` ConfigMap key) as translation reads it:
// parsed and checked as Istio parses it, over Istio's defaults.
import { existsSync, readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { meshConfigFromYaml } from '../../webhook/inject/mesh.js';
import { defaultMeshConfig, type MeshConfig } from '../model/mesh.js';
import { meshConfigFromJson } from '../model/mesh-json.js';

/** Istio's defaults when there is no file; a file Istio would reject is reported and ignored. */
export function loadMeshConfig(file: string | undefined, log: Pick<Logger, 'info' | 'warn'>): MeshConfig {
  if (!file || !existsSync(file)) return defaultMeshConfig();
  try {
    const { mesh, errors } = meshConfigFromJson(meshConfigFromYaml(readFileSync(file, 'utf8')));
    if (errors.length) throw new Error(errors.join('; '));
    log.info({ file, outboundTrafficPolicy: mesh.outboundTrafficPolicy }, 'mesh config loaded');
    return mesh;
  } catch (e) {
    log.warn({ file }, `mesh config rejected, using Istio's defaults: ${(e as Error).message}`);
    return defaultMeshConfig();
  }
}
