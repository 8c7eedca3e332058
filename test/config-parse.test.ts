// Loading config: every rejected resource is named with file, line, kind, namespace/name and field.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatConfigError, parseYaml } from '../pilot/config/parse.js';
import { DirectoryConfigSource } from '../pilot/config/directory.js';
import { MemoryConfigStore } from '../pilot/config/store.js';
import type * as net from '../pilot/config/schema/networking.js';

const vs = (body: string, name = 'reviews') =>
  `apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n  name: ${name}\n  namespace: bookinfo\nspec:\n${body}`;

describe('config parsing', () => {
  it('parses every networking version into one typed kind, snake_case accepted as in proto-JSON', () => {
    const r = parseYaml(
      ['v1', 'v1beta1', 'v1alpha3']
        .map((v, i) => `apiVersion: networking.istio.io/${v}\nkind: DestinationRule\nmetadata: {name: dr${i}}\nspec:\n  host: reviews\n  traffic_policy: {load_balancer: {simple: RANDOM}}\n`)
        .join('---\n'),
    );
    assert.deepEqual(r.errors, []);
    assert.equal(r.resources.length, 3);
    for (const res of r.resources) {
      assert.equal(res.kind, 'DestinationRule');
      assert.equal(res.meta.namespace, 'default');
      assert.equal((res.spec as net.DestinationRule).trafficPolicy?.loadBalancer?.simple, 'RANDOM');
    }
  });

  it('names file, line, kind, namespace/name and field for an unknown field, a wrong type and an invalid value', () => {
    const text = vs('  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n      weight: "x"\n      colour: red\n  - timeout: 5 minutes\n    route:\n    - destination: {host: reviews}\n');
    const r = parseYaml(text, { file: 'mesh/reviews.yaml' });
    assert.equal(r.resources.length, 0);
    const lines = r.errors.map(formatConfigError);
    assert.deepEqual(lines, [
      'mesh/reviews.yaml:11: VirtualService bookinfo/reviews: spec.http[0].route[0].weight: expected integer, got string',
      'mesh/reviews.yaml:12: VirtualService bookinfo/reviews: spec.http[0].route[0].colour: unknown field "colour"',
      'mesh/reviews.yaml:13: VirtualService bookinfo/reviews: spec.http[1].timeout: invalid duration "5 minutes"',
    ]);
  });

  it('applies value checks after structure (oneof, required host, regex)', () => {
    const r = parseYaml(
      vs('  hosts: [reviews]\n  http:\n  - match:\n    - uri: {prefix: /a, exact: /b}\n    route:\n    - destination: {subset: v1}\n  - match:\n    - headers: {x: {regex: "(("}}\n    route:\n    - destination: {host: reviews}\n'),
    );
    const fields = r.errors.map((e) => `${e.field}: ${e.message}`);
    assert.ok(fields.some((f) => f.startsWith('spec.http[0].match[0].uri: only one of exact, prefix, regex')), fields.join('\n'));
    assert.equal(r.resources.length, 0);
  });

  it('reports semantic errors with their field', () => {
    const r = parseYaml(vs('  hosts: [reviews]\n  http:\n  - route:\n    - destination: {subset: v1}\n'));
    assert.deepEqual(r.errors.map((e) => `${e.field}: ${e.message}`), ['spec.http[0].route[0].destination.host: destination host is required']);
  });

  it('reads multi-document files and kind: List, skips kinds it does not serve, and keeps the valid documents', () => {
    const r = parseYaml(`apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: Gateway
  metadata: {name: gw, namespace: istio-system}
  spec:
    selector: {istio: ingressgateway}
    servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
- apiVersion: networking.istio.io/v1
  kind: Gateway
  metadata: {name: bad, namespace: istio-system}
  spec:
    servers: [{port: {number: 99999, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
`);
    assert.deepEqual(r.resources.map((x) => x.meta.name), ['gw']);
    assert.deepEqual(r.ignored, ['apps/v1/Deployment']);
    assert.equal(r.errors.length, 1);
    assert.match(formatConfigError(r.errors[0]!), /^:?.*Gateway istio-system\/bad: spec\.servers\[0\]\.port\.number: /);
    assert.equal(r.errors[0]!.line, 14);
  });

  it('reports unparsable YAML with its line and loses nothing else in the file', () => {
    const r = parseYaml('apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ok}\nspec: {hosts: [a.com], ports: [{number: 80, name: http}]}\n---\nfoo: [unclosed\n', { file: 'x.yaml' });
    assert.deepEqual(r.resources.map((x) => x.meta.name), ['ok']);
    assert.equal(r.errors.length, 1);
    assert.match(formatConfigError(r.errors[0]!), /^x\.yaml:[67]: cannot parse YAML: Flow sequence .* must .* end with a \]/);
  });

  it('rejects objects without a name or with an invalid one', () => {
    const r = parseYaml('apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {namespace: a}\nspec: {}\n---\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: Bad_Name}\nspec: {}\n');
    assert.deepEqual(r.errors.map((e) => `${e.field}: ${e.message.split(':')[0]}`), ['metadata.name: name is required', 'metadata.name: invalid name "Bad_Name"']);
  });
});

describe('config store', () => {
  it('emits only what changed, with the keys and kinds', () => {
    const store = new MemoryConfigStore();
    const events: string[][] = [];
    store.onChange((e) => events.push([...e.changed].sort()));
    const r = parseYaml(vs('  hosts: [a]\n  http: [{route: [{destination: {host: a}}]}]\n', 'a') + '---\n' + vs('  hosts: [b]\n  http: [{route: [{destination: {host: b}}]}]\n', 'b'));
    store.replaceAll(r.resources);
    store.replaceAll(r.resources);
    store.replaceAll(r.resources.slice(1));
    assert.deepEqual(events, [['VirtualService/bookinfo/a', 'VirtualService/bookinfo/b'], ['VirtualService/bookinfo/a']]);
    assert.equal(store.revision, 2);
  });
});

describe('directory source', () => {
  it('keeps the last good version of a resource whose file turns invalid, and drops it when the file is removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-dir-'));
    try {
      const source = new DirectoryConfigSource(dir);
      writeFileSync(join(dir, 'a.yaml'), vs('  hosts: [a]\n  http: [{route: [{destination: {host: a}}]}]\n', 'a'));
      await source.load();
      assert.equal(source.store.list('VirtualService').length, 1);
      writeFileSync(join(dir, 'a.yaml'), vs('  hosts: [a]\n  http: [{route: [{destination: {host: a}}], timeout: soon}]\n', 'a'));
      await source.reload();
      const kept = source.store.list<net.VirtualService>('VirtualService');
      assert.equal(kept.length, 1);
      assert.equal(kept[0]!.spec.http?.[0]?.timeout, undefined);
      assert.ok(source.store.errors().some((e) => e.message.includes('still serving the last good version')));
      rmSync(join(dir, 'a.yaml'));
      await source.reload();
      assert.equal(source.store.list('VirtualService').length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follows edits through the watcher: a changed file, a new directory, a removed file and a removed directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-watch-'));
    const route = (host: string, subset = 'v5') => vs(`  hosts: [${host}]\n  http: [{route: [{destination: {host: ${host}, subset: ${subset}}}]}]\n`, host);
    const source = new DirectoryConfigSource(dir);
    const changed = () => new Promise<void>((resolve) => { const off = source.store.onChange(() => { off(); resolve(); }); });
    const hosts = () => source.store.list<net.VirtualService>('VirtualService').map((r) => `${r.meta.name}:${r.spec.http?.[0]?.route?.[0]?.destination?.subset}`).sort();
    try {
      mkdirSync(join(dir, 'team-a'));
      writeFileSync(join(dir, 'team-a', 'a.yaml'), route('a'));
      writeFileSync(join(dir, 'b.yaml'), route('b'));
      await source.load();
      source.watch(10);
      assert.deepEqual(hosts(), ['a:v5', 'b:v5']);

      let next = changed();
      writeFileSync(join(dir, 'team-a', 'a.yaml'), route('a', 'v7'));
      await next;
      assert.deepEqual(hosts(), ['a:v7', 'b:v5']);

      // Saved the way editors save, written aside and renamed over the file, again and again
      // (Node 20's recursive watch stopped reporting a file after the first such save).
      const saveByRename = (file: string, text: string) => {
        writeFileSync(`${file}.tmp~`, text);
        renameSync(`${file}.tmp~`, file);
      };
      for (const subset of ['r1', 'r2', 'r3']) {
        next = changed();
        saveByRename(join(dir, 'b.yaml'), route('b', subset));
        await next;
        assert.deepEqual(hosts(), ['a:v7', `b:${subset}`]);
      }
      next = changed();
      writeFileSync(join(dir, 'b.yaml'), route('b', 'v5'));
      await next;
      assert.deepEqual(hosts(), ['a:v7', 'b:v5'], 'and written in place after that');

      next = changed();
      mkdirSync(join(dir, 'team-c'));
      writeFileSync(join(dir, 'team-c', 'c.yaml'), route('c'));
      await next;
      assert.deepEqual(hosts(), ['a:v7', 'b:v5', 'c:v5']);
      for (const subset of ['r1', 'r2']) {
        next = changed();
        saveByRename(join(dir, 'team-c', 'c.yaml'), route('c', subset));
        await next;
        assert.deepEqual(hosts(), ['a:v7', 'b:v5', `c:${subset}`], 'in a directory made after the watch began');
      }
      next = changed();
      writeFileSync(join(dir, 'team-c', 'c.yaml'), route('c', 'v5'));
      await next;

      next = changed();
      rmSync(join(dir, 'b.yaml'));
      await next;
      assert.deepEqual(hosts(), ['a:v7', 'c:v5']);

      next = changed();
      rmSync(join(dir, 'team-a'), { recursive: true });
      await next;
      assert.deepEqual(hosts(), ['c:v5']);

      // Hidden and non-config files are not config.
      writeFileSync(join(dir, '.b.yaml.swp'), route('b'));
      writeFileSync(join(dir, 'notes.txt'), route('b'));
      next = changed();
      writeFileSync(join(dir, 'team-c', 'c.yaml'), route('c', 'v9'));
      await next;
      assert.deepEqual(hosts(), ['c:v9']);
    } finally {
      source.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
