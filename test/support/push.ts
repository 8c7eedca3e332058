// Builds a PushContext straight from YAML, for translation tests that need no server.
import { parseYaml, formatConfigError } from '../../pilot/config/parse.js';
import { MemoryConfigStore } from '../../pilot/config/store.js';
import { buildServiceIndex } from '../../pilot/registry/index.js';
import { defaultMeshConfig, type MeshConfig } from '../../pilot/model/mesh.js';
import { PushContext } from '../../pilot/model/push-context.js';

export function pushFromYaml(yaml: string, mesh: Partial<MeshConfig> = {}): PushContext {
  const parsed = parseYaml(yaml);
  if (parsed.errors.length) throw new Error(parsed.errors.map(formatConfigError).join('\n'));
  const store = new MemoryConfigStore();
  store.replaceAll(parsed.resources);
  const registry = buildServiceIndex(store, { domainSuffix: 'cluster.local' });
  return new PushContext('test/1', { ...defaultMeshConfig(), ...mesh }, 'cluster.local', registry, store);
}
