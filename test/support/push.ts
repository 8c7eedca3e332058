// Builds a PushContext straight from YAML, for translation tests that need no server.
import { parseYaml, formatConfigError } from '../../pilot/config/parse.js';
import { MemoryConfigStore } from '../../pilot/config/store.js';
import { buildServiceIndex } from '../../pilot/registry/index.js';
import { defaultMeshConfig, type MeshConfig } from '../../pilot/model/mesh.js';
import { PushContext } from '../../pilot/model/push-context.js';

/** `previous`: the push before, whose durable output this one may reuse (as isthmusd's pushes do). */
export function pushFromYaml(yaml: string, mesh: Partial<MeshConfig> = {}, previous?: PushContext): PushContext {
  const parsed = parseYaml(yaml);
  if (parsed.errors.length) throw new Error(parsed.errors.map(formatConfigError).join('\n'));
  const store = new MemoryConfigStore();
  store.replaceAll(parsed.resources);
  const registry = buildServiceIndex(store, { domainSuffix: 'cluster.local' }, previous?.registry);
  // The same mesh object as `previous` when given its own: durable output needs an unchanged mesh config.
  const meshConfig = previous && mesh === previous.mesh ? previous.mesh : { ...defaultMeshConfig(), ...mesh };
  return new PushContext('test/1', meshConfig, 'cluster.local', registry, store, { previous });
}
