// An in-test double of the Kubernetes API server (there is no kube-apiserver on these machines).
// It speaks what Isthmus's client uses: HTTPS with a bearer token, API discovery, list and watch
// across namespaces (resourceVersions, bookmarks-free event streams, 410 Gone after compaction),
// simple field selectors, and get/create/update/delete of namespaced objects with optimistic
// concurrency (409 on a stale resourceVersion). Collections that are not served answer 404, as
// for a CRD that is not installed. Extra endpoints (TokenReview) are added per test.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { openssl, tempDir } from '../../citadel/testing.js';

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: Record<string, unknown> & { name: string; namespace?: string; uid?: unknown } };

interface Collection {
  group: string;
  version: string;
  plural: string;
  kind: string;
  clusterScoped: boolean;
  objects: Map<string, Obj>;
}

interface Event {
  rv: number;
  collection: Collection;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

interface Watcher {
  collection: Collection;
  fieldSelector?: string;
  labelSelector?: string;
  res: ServerResponse;
}

type Answer = { status: number; body: unknown } | undefined;
export type Handler = (req: IncomingMessage, body: unknown) => Answer | Promise<Answer>;

export class KubeApiDouble {
  private server!: Server;
  private readonly collections = new Map<string, Collection>();
  private readonly events: Event[] = [];
  /** Versions below this are gone: a watch from one of them gets 410. */
  private compactedBelow = 0;
  private rv = 1;
  private readonly watchers = new Set<Watcher>();
  private readonly handlers: Handler[] = [];
  /** Every request as `METHOD path` (with query), for assertions. */
  readonly requests: string[] = [];
  readonly token = 'test-token-' + Math.random().toString(36).slice(2);
  port = 0;
  caPem = '';
  private cleanup?: () => Promise<void>;

  static async start(): Promise<KubeApiDouble> {
    const d = new KubeApiDouble();
    await d.listen();
    return d;
  }

  private async listen(): Promise<void> {
    const dir = await tempDir('kube-api-');
    this.cleanup = dir.cleanup;
    const key = join(dir.path, 'key.pem');
    const cert = join(dir.path, 'cert.pem');
    const r = await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=kube-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1']);
    if (r.code !== 0) throw new Error(`openssl: ${r.stderr}`);
    this.caPem = readFileSync(cert, 'utf8');
    this.server = createServer({ key: readFileSync(key), cert: this.caPem }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** A kubeconfig file for this server, written into `dir`. */
  kubeconfig(dir: string): string {
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'double', cluster: { server: `https://127.0.0.1:${this.port}`, 'certificate-authority-data': Buffer.from(this.caPem).toString('base64') } }],
        users: [{ name: 'isthmusd', user: { token: this.token } }],
        contexts: [{ name: 'double', context: { cluster: 'double', user: 'isthmusd' } }],
        'current-context': 'double',
      }),
    );
    return file;
  }

  /** Serves a collection (`apiVersion` like `v1` or `networking.istio.io/v1`), as installing its CRD does. */
  serve(apiVersion: string, plural: string, kind: string, opts: { clusterScoped?: boolean } = {}): void {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
    this.collections.set(`${group}/${version}/${plural}`, { group, version, plural, kind, clusterScoped: !!opts.clusterScoped, objects: new Map() });
  }

  /** Stops serving a collection, as deleting its CRD does (its objects go with it). */
  unserve(apiVersion: string, plural: string): void {
    const c = this.collectionOf(apiVersion, plural);
    if (!c) return;
    for (const w of [...this.watchers]) if (w.collection === c) this.endWatch(w);
    this.collections.delete(`${c.group}/${c.version}/${c.plural}`);
  }

  addHandler(h: Handler): void {
    this.handlers.push(h);
  }

  /** Creates or replaces an object (found by its apiVersion and kind); returns its new resourceVersion. */
  apply(object: Record<string, unknown>): string {
    const obj = structuredClone(object) as Obj;
    const c = this.collectionFor(obj.apiVersion, obj.kind);
    const key = this.keyIn(c, obj.metadata.namespace, obj.metadata.name);
    const existing = c.objects.get(key);
    obj.metadata.resourceVersion = String(++this.rv);
    obj.metadata.uid ??= (existing?.metadata.uid as string | undefined) ?? `uid-${this.rv}`;
    obj.metadata.creationTimestamp ??= (existing?.metadata.creationTimestamp as string | undefined) ?? new Date(Date.UTC(2026, 0, 1, 0, 0, this.rv)).toISOString().replace('.000Z', 'Z');
    if (!c.clusterScoped) obj.metadata.namespace ??= 'default';
    c.objects.set(key, obj);
    this.record(c, existing ? 'MODIFIED' : 'ADDED', obj);
    return obj.metadata.resourceVersion as string;
  }

  /** Applies every document of a YAML stream; returns the last resourceVersion. */
  applyYaml(text: string): string {
    let rv = '';
    for (const doc of parseAllDocuments(text)) {
      const value = doc.toJS() as Record<string, unknown> | null;
      if (value) rv = this.apply(value);
    }
    return rv;
  }

  remove(apiVersion: string, kind: string, namespace: string | undefined, name: string): void {
    const c = this.collectionFor(apiVersion, kind);
    const key = this.keyIn(c, namespace, name);
    const obj = c.objects.get(key);
    if (!obj) return;
    c.objects.delete(key);
    const gone = structuredClone(obj);
    gone.metadata.resourceVersion = String(++this.rv);
    this.record(c, 'DELETED', gone);
  }

  get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Obj | undefined {
    const c = this.collectionFor(apiVersion, kind);
    return c.objects.get(this.keyIn(c, namespace, name));
  }

  list(apiVersion: string, kind: string): Obj[] {
    return [...this.collectionFor(apiVersion, kind).objects.values()];
  }

  /** Ends every open watch stream, as the API server does when a watch times out. */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w);
  }

  /** Forgets every event so far: watches from an older resourceVersion get 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    this.events.length = 0;
  }

  watcherCount(plural?: string): number {
    return [...this.watchers].filter((w) => !plural || w.collection.plural === plural).length;
  }

  async close(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.cleanup?.();
  }

  private collectionOf(apiVersion: string, plural: string): Collection | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
    return this.collections.get(`${group}/${version}/${plural}`);
  }

  private collectionFor(apiVersion: string, kind: string): Collection {
    for (const c of this.collections.values()) {
      if ((c.group ? `${c.group}/${c.version}` : c.version) === apiVersion && c.kind === kind) return c;
    }
    throw new Error(`the double does not serve ${apiVersion} ${kind}`);
  }

  private keyIn(c: Collection, namespace: string | undefined, name: string): string {
    return c.clusterScoped ? name : `${namespace ?? 'default'}/${name}`;
  }

  private record(c: Collection, type: Event['type'], object: Obj): void {
    const event = { rv: this.rv, collection: c, type, object };
    this.events.push(event);
    for (const w of this.watchers) if (w.collection === c && matchesFields(object, w.fieldSelector) && matchesLabels(object, w.labelSelector)) this.send(w, event);
  }

  private send(w: Watcher, e: Event): void {
    w.res.write(JSON.stringify({ type: e.type, object: e.object }) + '\n');
  }

  private endWatch(w: Watcher): void {
    this.watchers.delete(w);
    w.res.end();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push(`${req.method} ${req.url}`);
      if (req.headers.authorization !== `Bearer ${this.token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
      let body: unknown;
      if (chunks.length) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return status(res, 400, 'BadRequest', 'body is not JSON');
        }
      }
      void (async () => {
        for (const h of this.handlers) {
          const out = await h(req, body);
          if (out) return json(res, out.status, out.body);
        }
        this.route(req, res, body);
      })();
    });
  }

  private route(req: IncomingMessage, res: ServerResponse, body: unknown): void {
    const url = new URL(req.url!, 'https://double');
    if (url.pathname === '/apis') {
      const groups = new Map<string, Set<string>>();
      for (const c of this.collections.values()) if (c.group) (groups.get(c.group) ?? groups.set(c.group, new Set()).get(c.group)!).add(c.version);
      return json(res, 200, { kind: 'APIGroupList', groups: [...groups].map(([name, vs]) => ({ name, versions: [...vs].map((v) => ({ groupVersion: `${name}/${v}`, version: v })) })) });
    }
    // /api/v1[/namespaces/NS]/PLURAL[/NAME] or /apis/G/V[/namespaces/NS]/PLURAL[/NAME]
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'apis' && parts.length === 2) {
      const versions = [...new Set([...this.collections.values()].filter((c) => c.group === parts[1]).map((c) => c.version))];
      if (!versions.length) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return json(res, 200, { kind: 'APIGroup', name: parts[1], versions: versions.map((v) => ({ groupVersion: `${parts[1]}/${v}`, version: v })) });
    }
    const [group, version, rest] = parts[0] === 'api' ? ['', parts[1], parts.slice(2)] : [parts[1] ?? '', parts[2], parts.slice(3)];
    let namespace: string | undefined;
    let tail = rest;
    if (tail[0] === 'namespaces' && tail.length >= 3) {
      namespace = tail[1];
      tail = tail.slice(2);
    }
    const c = this.collections.get(`${group}/${version}/${tail[0]}`);
    if (!c) return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const name = tail[1];
    if (!name && req.method === 'GET') {
      if (url.searchParams.get('watch') === 'true') return this.startWatch(c, url, res);
      const fieldSelector = url.searchParams.get('fieldSelector') ?? undefined;
      const labelSelector = url.searchParams.get('labelSelector') ?? undefined;
      const items = [...c.objects.values()]
        .filter((o) => (!namespace || o.metadata.namespace === namespace) && matchesFields(o, fieldSelector) && matchesLabels(o, labelSelector))
        .map(({ apiVersion: _a, kind: _k, ...item }) => item);
      return json(res, 200, { kind: `${c.kind}List`, apiVersion: c.group ? `${c.group}/${c.version}` : c.version, metadata: { resourceVersion: String(this.rv) }, items });
    }
    const apiVersion = c.group ? `${c.group}/${c.version}` : c.version;
    const key = name ? this.keyIn(c, namespace, name) : undefined;
    if (req.method === 'GET') {
      const o = c.objects.get(key!);
      return o ? json(res, 200, o) : status(res, 404, 'NotFound', `${c.plural} "${name}" not found`);
    }
    if (req.method === 'DELETE') {
      if (!c.objects.has(key!)) return status(res, 404, 'NotFound', `${c.plural} "${name}" not found`);
      this.remove(apiVersion, c.kind, namespace, name!);
      return status(res, 200, 'Success', 'deleted');
    }
    if (req.method === 'PATCH') {
      const existing = c.objects.get(key!);
      if (!existing) return status(res, 404, 'NotFound', `${c.plural} "${name}" not found`);
      if (req.headers['content-type'] !== 'application/merge-patch+json') return status(res, 415, 'UnsupportedMediaType', 'the double takes merge patches only');
      this.apply(mergePatch(existing, body) as Obj);
      return json(res, 200, c.objects.get(key!));
    }
    const obj = body as Obj | undefined;
    if (!obj?.metadata?.name) return status(res, 422, 'Invalid', 'metadata.name: Required value');
    const target = this.keyIn(c, namespace ?? obj.metadata.namespace, obj.metadata.name);
    const existing = c.objects.get(target);
    if (req.method === 'POST') {
      if (existing) return status(res, 409, 'AlreadyExists', `${c.plural} "${obj.metadata.name}" already exists`);
    } else if (req.method === 'PUT') {
      if (!existing) return status(res, 404, 'NotFound', `${c.plural} "${obj.metadata.name}" not found`);
      if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== existing.metadata.resourceVersion) {
        return status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${c.plural} "${obj.metadata.name}": the object has been modified`);
      }
    } else {
      return status(res, 405, 'MethodNotAllowed', `${req.method} is not supported by the double`);
    }
    const stored = { ...obj, apiVersion, kind: c.kind, metadata: { ...obj.metadata, ...(namespace ? { namespace } : {}) } };
    if (existing) stored.metadata.uid = existing.metadata.uid;
    this.apply(stored);
    json(res, req.method === 'POST' ? 201 : 200, c.objects.get(target));
  }

  private startWatch(c: Collection, url: URL, res: ServerResponse): void {
    const from = Number(url.searchParams.get('resourceVersion') || '0');
    if (from && from < this.compactedBelow - 1) return status(res, 410, 'Expired', `too old resource version: ${from}`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const w: Watcher = { collection: c, fieldSelector: url.searchParams.get('fieldSelector') ?? undefined, labelSelector: url.searchParams.get('labelSelector') ?? undefined, res };
    for (const e of this.events) if (e.rv > from && e.collection === c && matchesFields(e.object, w.fieldSelector) && matchesLabels(e.object, w.labelSelector)) this.send(w, e);
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }
}

/** `a.b=v` and `a.b!=v` terms joined by commas, as field selectors on `type` and `metadata.name` are written. */
function matchesFields(o: Record<string, unknown>, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^([\w.]+)(!=|==|=)(.*)$/.exec(term);
    if (!m) return true;
    const value = m[1]!.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
    const actual = value === undefined ? '' : String(value);
    return m[2] === '!=' ? actual !== m[3] : actual === m[3];
  });
}

/** RFC 7386: objects merge key by key, null deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Equality label selectors (`k=v,k2=v2`). */
function matchesLabels(o: Obj, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = (o.metadata.labels ?? {}) as Record<string, string>;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return labels[k!] === v;
  });
}

function json(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, { kind: 'Status', apiVersion: 'v1', status: code < 400 ? 'Success' : 'Failure', reason, message, code });
}

/** Serves every kind Isthmus reads, at each kind's newest version, except the groups in `without`. */
export async function serveIsthmusKinds(api: KubeApiDouble, without: string[] = []): Promise<void> {
  const { KINDS } = await import('../../pilot/config/kinds.js');
  for (const k of KINDS) {
    if (without.includes(k.group)) continue;
    api.serve(k.group ? `${k.group}/${k.versions[0]}` : k.versions[0]!, k.plural, k.apiKind ?? k.kind, { clusterScoped: k.clusterScoped });
  }
}
