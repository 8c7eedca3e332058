// POST /debug/preview: which connected proxies a config change would reach, and how, before it
// is made. The body is `{ "yaml": "...", "delete": ["Kind/namespace/name", ...] }`; the change
// is validated as the config directory would validate it and is never applied.
import type { IncomingMessage } from 'node:http';
import { formatConfigError, parseYaml } from '../config/parse.js';
import type { ConfigStore } from '../config/store.js';
import { PushContext } from '../model/push-context.js';
import { buildServiceIndex } from '../registry/index.js';
import { describeChange, overlayStore, previewChange, type ConfigChange, type PreviewReport } from '../simulation/preview.js';
import type { DiscoveryService } from '../xds/discovery.js';

const MAX_BODY = 1 << 20;
/** Deeper YAML/JSON nesting than any Istio resource needs; deeper input is refused before parsing. */
const MAX_NESTING = 64;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new BodyError(`request body larger than ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

class BodyError extends Error {}

/** `Kind/namespace/name` → its parts; undefined when malformed. */
function parseDeleteKey(key: string): ConfigChange['delete'][number] | undefined {
  const parts = key.split('/');
  return parts.length === 3 && parts.every(Boolean) ? { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! } : undefined;
}

/**
 * How deep flow collections nest (`[`, `{`) or block indentation goes: a cheap bound checked
 * before the YAML parser, which deep nesting makes slow or crashes. Brackets inside strings
 * count too: a scanner that skipped quotes could be fooled by a plain scalar's apostrophe.
 */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if ((c === ']' || c === '}') && depth > 0) depth--;
    else if (c === '\n') {
      let indent = 0;
      while (text[i + 1 + indent] === ' ') indent++;
      max = Math.max(max, Math.floor(indent / 2));
    }
  }
  return max;
}

/** The change a request describes, or the reasons it cannot be read. */
export function changeFromInput(yaml: string, deletes: readonly string[]): { change: ConfigChange } | { errors: string[] } {
  if (nestingDepth(yaml) > MAX_NESTING) return { errors: [`the YAML nests deeper than ${MAX_NESTING} levels; no Istio resource needs that`] };
  const parsed = parseYaml(yaml);
  const errors = parsed.errors.map(formatConfigError);
  for (const what of parsed.ignored) errors.push(`not a kind isthmusd knows, so not part of the change: ${what}`);
  const del: ConfigChange['delete'] = [];
  for (const d of deletes) {
    const key = parseDeleteKey(d);
    if (key) del.push(key);
    else errors.push(`delete: ${JSON.stringify(d)} is not Kind/namespace/name`);
  }
  if (!parsed.resources.length && !del.length && !errors.length) errors.push('the change is empty: give resources to apply or keys to delete');
  return errors.length ? { errors } : { change: { apply: parsed.resources, delete: del } };
}

export function previewHandler({ store, discovery }: { store: ConfigStore; discovery: DiscoveryService }) {
  let running = false;
  return async (req: IncomingMessage): Promise<PreviewReport | { status: number; body: unknown }> => {
    if (req.method !== 'POST') return { status: 405, body: { error: 'POST a JSON body: {"yaml": "...", "delete": ["Kind/namespace/name"]}' } };
    // JSON only: a browser cannot send that cross-site without asking first.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return { status: 415, body: { error: 'the body must be application/json' } };
    // One at a time: a preview builds the mesh's config twice on the main thread.
    if (running) return { status: 429, body: { error: 'a preview is already running; try again when it is done' } };
    running = true;
    try {
      return await preview(req);
    } finally {
      running = false;
    }
  };
  async function preview(req: IncomingMessage): Promise<PreviewReport | { status: number; body: unknown }> {
    let input: { yaml?: unknown; delete?: unknown };
    try {
      input = JSON.parse(await readBody(req)) as typeof input;
    } catch (e) {
      return { status: 400, body: { error: e instanceof BodyError ? e.message : `body is not JSON: ${(e as Error).message}` } };
    }
    if (!input || typeof input !== 'object' || Array.isArray(input)) return { status: 400, body: { error: 'body must be a JSON object' } };
    if (input.yaml !== undefined && typeof input.yaml !== 'string') return { status: 400, body: { error: '"yaml" must be a string' } };
    if (input.delete !== undefined && !(Array.isArray(input.delete) && input.delete.every((d) => typeof d === 'string'))) {
      return { status: 400, body: { error: '"delete" must be a list of "Kind/namespace/name" strings' } };
    }
    const yaml = (input.yaml as string | undefined) ?? '';
    const deletes = (input.delete as string[] | undefined) ?? [];
    const read = changeFromInput(yaml, deletes);
    if ('errors' in read) return { status: 400, body: { error: 'invalid change', errors: read.errors } };
    // Both sides from the store as it is now (changes still waiting to be pushed belong to
    // both), with the keys isthmusd fetched, and caches of their own.
    const live = discovery.pushContext;
    const build = (version: string, config: ConfigStore) =>
      new PushContext(version, live.mesh, live.domainSuffix, buildServiceIndex(config, { domainSuffix: live.domainSuffix }), config, { jwks: live.jwks });
    const before = build(`${live.version}+preview-before`, store);
    const after = build(`${live.version}+preview-after`, overlayStore(store, read.change));
    const connections = discovery.server.list();
    const watchesOf = new Map(connections.map((c) => [c.session, new Map([...c.watches.values()].map((w) => [w.typeUrl, w.wildcard ? undefined : [...w.names]] as const))]));
    const impact = previewChange(before, after, connections.map((c) => c.session), (proxy) => watchesOf.get(proxy) ?? new Map());
    return { config: describeChange(store, read.change), ...impact };
  }
}
