// MeshConfig discoverySelectors: the namespaces whose objects are read, and what changes when a
// namespace comes into or out of the selection.
import assert from 'node:assert/strict';
import { MemoryConfigStore, type ConfigEvent } from '../pilot/config/store.js';
import { DiscoveryFilteredStore } from '../pilot/config/discovery-filter.js';
import { parseYaml } from '../pilot/config/parse.js';
import { meshConfigFromJson } from '../pilot/model/mesh-json.js';

const ns = (name: string, labels = '{}') => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${name}, labels: ${labels}}`;
const svc = (name: string, namespace: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec:\n  ports: [{port: 80}]`;
const node = `apiVersion: v1\nkind: Node\nmetadata: {name: n1}`;

function setup() {
  const inner = new MemoryConfigStore();
  inner.apply(...parseYaml([ns('shop', '{mesh: "on"}'), ns('lab'), svc('cart', 'shop'), svc('probe', 'lab'), node].join('\n---\n')).resources);
  const view = new DiscoveryFilteredStore(inner);
  const events: ConfigEvent[] = [];
  view.onChange((e) => events.push(e));
  return { inner, view, events };
}

describe('discoverySelectors', () => {
  it('reads every namespace without selectors, and only matching ones with', () => {
    const { view } = setup();
    assert.deepEqual(view.list('Service').map((s) => s.meta.name).sort(), ['cart', 'probe']);
    view.setSelectors([{ matchLabels: { mesh: 'on' } }]);
    assert.deepEqual(view.list('Service').map((s) => s.meta.name), ['cart']);
    assert.deepEqual(view.list('Namespace').map((n) => n.meta.name), ['shop']);
    assert.equal(view.get('Service', 'lab', 'probe'), undefined);
    assert.equal(view.list('Node').length, 1, 'cluster-scoped objects always pass');
    view.setSelectors([{ matchExpressions: [{ key: 'mesh', operator: 'DoesNotExist' }] }]);
    assert.deepEqual(view.list('Service').map((s) => s.meta.name), ['probe']);
  });

  it('announces the objects of a namespace that joins or leaves, and drops changes elsewhere', () => {
    const { inner, view, events } = setup();
    view.setSelectors([{ matchLabels: { mesh: 'on' } }]);
    events.length = 0;
    inner.apply(...parseYaml(svc('other', 'lab')).resources);
    assert.deepEqual(events, [], 'a change in an unselected namespace is not seen');
    inner.apply(...parseYaml(ns('lab', '{mesh: "on"}')).resources);
    const joined = (events as ConfigEvent[]).flatMap((e) => [...e.changed]);
    assert.ok(joined.includes('Service/lab/probe') && joined.includes('Service/lab/other') && joined.includes('Namespace//lab'));
    assert.deepEqual(view.list('Service').map((s) => s.meta.name).sort(), ['cart', 'other', 'probe']);
    events.length = 0;
    view.setSelectors([]);
    assert.deepEqual(events, [], 'no namespace changed membership');
  });

  it('announces what leaves with a deleted namespace, and objects of namespaces without a Namespace object', () => {
    const { inner, view, events } = setup();
    inner.apply(...parseYaml(svc('stray', 'ghost')).resources);
    events.length = 0;
    view.setSelectors([{ matchLabels: { mesh: 'on' } }]);
    const left = (events as ConfigEvent[]).flatMap((e) => [...e.changed]);
    assert.ok(left.includes('Service/ghost/stray') && left.includes('Service/lab/probe'), JSON.stringify(left));
    events.length = 0;
    inner.delete('Namespace', '', 'shop');
    assert.ok((events as ConfigEvent[]).flatMap((e) => [...e.changed]).includes('Service/shop/cart'));
    assert.deepEqual(view.list('Service'), []);
  });

  it('reads discoverySelectors from the mesh config, refusing malformed ones', () => {
    assert.deepEqual(meshConfigFromJson({ discoverySelectors: [{ matchLabels: { env: 'prod' } }] }).mesh.discoverySelectors, [{ matchLabels: { env: 'prod' } }]);
    assert.match(meshConfigFromJson({ discoverySelectors: [{ matchExpressions: [{ key: 'env', operator: 'Maybe' }] }] }).errors.join(), /needs a key and an operator/);
    assert.match(meshConfigFromJson({ discoverySelectors: [{ matchExpressions: [{ key: 'env', operator: 'In' }] }] }).errors.join(), /In needs values/);
  });
});
