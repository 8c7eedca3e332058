// `isthmusctl proxy-status`: which proxies are connected and whether each holds the latest
// config of every type, in istioctl's columns.
import { Command } from 'commander';
import { debugGet, DEFAULT_ISTHMUSD } from './debug-client.js';
import { table } from './table.js';

interface SyncStatus {
  proxy: string;
  connectionId: string;
  istio_version?: string;
  [type: string]: unknown;
}

interface TypeStatus {
  sent?: string;
  acked?: string;
  status: 'SYNCED' | 'STALE' | 'NACKED';
  error?: string;
}

/** The `pod.namespace` part of a node id, as istioctl names proxies. */
function proxyName(id: string): string {
  const parts = id.split('~');
  return parts.length === 4 ? parts[2]! : id;
}

function cell(s: unknown): string {
  const t = s as TypeStatus | undefined;
  if (!t) return 'NOT SENT';
  return t.status === 'NACKED' ? `NACKED (${t.error ?? ''})` : t.status;
}

export function proxyStatusCommand(): Command {
  return new Command('proxy-status')
    .alias('ps')
    .description('Retrieves the synchronization status of each proxy connected to isthmusd')
    .argument('[proxy]', 'only this proxy (pod.namespace or node id)')
    .option('--isthmusd <addr>', "isthmusd's HTTP debug address", DEFAULT_ISTHMUSD)
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (proxy: string | undefined, o: { isthmusd: string; output: string }) => {
      let rows = await debugGet<SyncStatus[]>(o.isthmusd, '/debug/syncz');
      if (proxy) rows = rows.filter((r) => r.proxy === proxy || proxyName(r.proxy) === proxy);
      if (o.output === 'json') {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const lines = [['NAME', 'CDS', 'LDS', 'EDS', 'RDS', 'ISTIOD', 'VERSION']];
      for (const r of [...rows].sort((a, b) => (proxyName(a.proxy) < proxyName(b.proxy) ? -1 : 1))) {
        lines.push([proxyName(r.proxy), cell(r.cds), cell(r.lds), cell(r.eds), cell(r.rds), 'isthmusd', r.istio_version ?? '']);
      }
      process.stdout.write(`${table(lines).join('\n')}\n`);
    });
}
