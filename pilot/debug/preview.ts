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

const MAX_BODY = 4 << 20;

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
export function parseDeleteKey(key: string): ConfigChange['delete'][number] | undefined {
  const parts = key.split('/');
  return parts.length === 3 && parts.every(Boolean) ? { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! } : undefined;
}

/** The change a request describes, or the reasons it cannot be read. */
export function changeFromInput(yaml: string, deletes: readonly string[]): { change: ConfigChange } | { errors: string[] } {
  const parsed = parseYaml(yaml);
  const errors = parsed.errors.map(formatConfigError);
  const del: ConfigChange['delete'] = [];
  for (const d of deletes) {
    const key = parseDeleteKey(d);
    if (key) del.push(key);
    else errors.push(`delete: ${JSON.stringify(d)} is not Kind/namespace/name`);
  }
  if (!parsed.resources.length && !del.length && !errors.length) errors.push('the change is empty: give resources to apply or keys to delete');
  return errors.length ? { errors } : { change: { apply: parsed.resources, delete: del } };
}

export function previewHandler(store: ConfigStore, discovery: DiscoveryService) {
  return async (req: IncomingMessage): Promise<PreviewReport | { status: number; body: unknown }> => {
    if (req.method !== 'POST') return { status: 405, body: { error: 'POST a JSON body: {"yaml": "...", "delete": ["Kind/namespace/name"]}' } };
    let input: { yaml?: unknown; delete?: unknown };
    try {
      input = JSON.parse(await readBody(req)) as typeof input;
    } catch (e) {
      return { status: 400, body: { error: e instanceof BodyError ? e.message : `body is not JSON: ${(e as Error).message}` } };
    }
    if (!input || typeof input !== 'object') return { status: 400, body: { error: 'body must be a JSON object' } };
    const yaml = typeof input.yaml === 'string' ? input.yaml : '';
    const deletes = Array.isArray(input.delete) && input.delete.every((d) => typeof d === 'string') ? (input.delete as string[]) : [];
    const read = changeFromInput(yaml, deletes);
    if ('errors' in read) return { status: 400, body: { error: 'invalid change', errors: read.errors } };
    const before = discovery.pushContext;
    const overlay = overlayStore(store, read.change);
    const after = new PushContext(`${before.version}+preview`, before.mesh, before.domainSuffix, buildServiceIndex(overlay, { domainSuffix: before.domainSuffix }), overlay);
    const connections = discovery.server.list();
    const watchesOf = new Map(connections.map((c) => [c.session, new Map([...c.watches.values()].map((w) => [w.typeUrl, w.wildcard ? undefined : [...w.names]] as const))]));
    const impact = previewChange(before, after, connections.map((c) => c.session), (proxy) => watchesOf.get(proxy) ?? new Map());
    return { config: describeChange(store, read.change), ...impact };
  };
}
