// `isthmusctl x preview -f CHANGE.yaml`: which proxies a config change would reach, and which of
// their resources it would add, remove or change, before it is made. Against a running isthmusd
// (its connected proxies and their subscriptions) or offline on a config directory (its Pods and
// WorkloadEntries, as if their sidecars connected).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { DirectoryConfigSource } from '../pilot/config/directory.js';
import { changeFromInput } from '../pilot/debug/preview.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext } from '../pilot/model/push-context.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { configProxies, describeChange, overlayStore, previewChange, type PreviewReport } from '../pilot/simulation/preview.js';
import { DEFAULT_ISTHMUSD } from './debug-client.js';
import { collect, table } from './table.js';

interface PreviewOptions {
  file: string[];
  delete: string[];
  configDir?: string;
  isthmusd: string;
  domain: string;
  output: 'table' | 'json' | 'yaml';
}


async function offline(dir: string, domain: string, yaml: string, deletes: string[]): Promise<PreviewReport> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`--configDir ${dir} is not a directory`);
  const source = new DirectoryConfigSource(root);
  await source.load();
  const read = changeFromInput(yaml, deletes);
  if ('errors' in read) throw new Error(`invalid change:\n${read.errors.map((e) => `  ${e}`).join('\n')}`);
  const mesh = defaultMeshConfig();
  const overlay = overlayStore(source.store, read.change);
  const before = new PushContext('before', mesh, domain, buildServiceIndex(source.store, { domainSuffix: domain }), source.store);
  const after = new PushContext('after', mesh, domain, buildServiceIndex(overlay, { domainSuffix: domain }), overlay);
  return { config: describeChange(source.store, read.change), ...previewChange(before, after, configProxies([overlay, source.store], domain)) };
}

async function remote(addr: string, yaml: string, deletes: string[]): Promise<PreviewReport> {
  const base = /^https?:\/\//.test(addr) ? addr : `http://${addr}`;
  let res: Response;
  try {
    res = await fetch(new URL('/debug/preview', base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ yaml, delete: deletes }) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause;
    throw new Error(`cannot reach isthmusd at ${addr} (${cause?.code ?? (e as Error).message}); use --isthmusd HOST:PORT or -d DIR`);
  }
  const body = (await res.json().catch(() => ({ error: `isthmusd answered ${res.status} without JSON` }))) as PreviewReport | { error: string; errors?: string[] };
  if (!res.ok || 'error' in body) {
    const b = body as { error: string; errors?: string[] };
    throw new Error(`isthmusd: ${b.error}${b.errors ? `:\n${b.errors.map((e) => `  ${e}`).join('\n')}` : ''}`);
  }
  return body;
}

/** A list of names for a table cell: a few, then how many more. */
function names(list: string[]): string {
  return list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} +${list.length - 3} more`;
}

function formatPreview(r: PreviewReport): string {
  const out = [...table([['CONFIG', 'CHANGE'], ...r.config.map((c) => [c.key, c.action])]), ''];
  if (!r.affected.length) {
    out.push(`No proxy's config would change (${r.checked} checked).`);
    return out.join('\n') + '\n';
  }
  const rows = [['PROXY', 'XDS', 'ADDED', 'REMOVED', 'CHANGED']];
  for (const p of r.affected) for (const d of p.diffs) rows.push([p.proxy.workload || p.proxy.id, d.type, names(d.added), names(d.removed), names(d.changed)]);
  out.push(...table(rows), '');
  out.push(`${r.affected.length} of ${r.checked} proxies would receive new config; the others nothing.`);
  return out.join('\n') + '\n';
}

export function xPreviewCommand(): Command {
  return new Command('preview')
    .description('Show which proxies a config change would reach, and how, without applying it')
    .option('-f, --file <file>', 'YAML of resources to create or replace (repeatable; - for stdin)', collect, [] as string[])
    .option('--delete <key>', 'a resource to delete, as Kind/namespace/name (repeatable)', collect, [] as string[])
    .option('-d, --configDir <dir>', 'preview offline against a directory of Istio/Kubernetes YAML instead of a running isthmusd')
    .option('--isthmusd <addr>', "isthmusd's HTTP debug address", DEFAULT_ISTHMUSD)
    .option('--domain <suffix>', 'DNS domain suffix of services (offline)', 'cluster.local')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .action(async (o: PreviewOptions) => {
      if (!o.file.length && !o.delete.length) throw new Error('give the change: -f FILE (resources to apply) and/or --delete Kind/namespace/name');
      const yaml = o.file.map((f) => readFileSync(f === '-' ? 0 : f, 'utf8')).join('\n---\n');
      const report = o.configDir ? await offline(o.configDir, o.domain, yaml, o.delete) : await remote(o.isthmusd, yaml, o.delete);
      if (o.output === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else if (o.output === 'yaml') process.stdout.write(stringify(report));
      else process.stdout.write(formatPreview(report));
    });
}
