// `isthmusctl proxy-config cluster|listener|route|endpoint|all PROXY`: the config isthmusd serves
// a connected proxy, summarised in istioctl's columns or dumped as JSON/YAML.
import { Command } from 'commander';
import { stringify } from 'yaml';
import { debugGet, DEFAULT_ISTHMUSD } from './debug-client.js';
import { table } from './table.js';

type Json = Record<string, any>;
type Dump = Partial<Record<'cds' | 'lds' | 'rds' | 'eds', Json[]>>;

function parseClusterName(name: string): { fqdn: string; port: string; subset: string; direction: string } {
  const p = name.split('|');
  if (p.length === 4) return { direction: p[0]!, port: p[1]!, subset: p[2]!, fqdn: p[3]! };
  return { direction: '-', port: '-', subset: '-', fqdn: name };
}

function clusterRows(dump: Dump): string[][] {
  const rows = [['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'DESTINATION RULE']];
  for (const c of dump.cds ?? []) {
    const n = parseClusterName(c.name);
    const type = c.type ?? (c.clusterType ? c.clusterType.name : 'EDS');
    const dr = c.metadata?.filterMetadata?.istio?.config ?? '';
    rows.push([n.fqdn, n.port, n.subset || '-', n.direction, String(type), String(dr).split('/').slice(-3).join('/')]);
  }
  return rows;
}

function listenerRows(dump: Dump): string[][] {
  const rows = [['ADDRESSES', 'PORT', 'MATCH', 'DESTINATION']];
  for (const l of dump.lds ?? []) {
    const addr = l.address?.socketAddress ?? {};
    const chains = [...(l.filterChains ?? []), ...(l.defaultFilterChain ? [l.defaultFilterChain] : [])];
    for (const c of chains) {
      const m = c.filterChainMatch ?? {};
      const match = [
        m.destinationPort ? `port ${m.destinationPort}` : '',
        m.serverNames?.length ? `SNI: ${m.serverNames.join(',')}` : '',
        m.transportProtocol ? `Trans: ${m.transportProtocol}` : '',
        m.applicationProtocols?.length ? `App: ${m.applicationProtocols.join(',')}` : '',
        m.prefixRanges?.length ? `Addr: ${m.prefixRanges.map((r: Json) => `${r.addressPrefix}/${r.prefixLen ?? 0}`).join(',')}` : '',
      ].filter(Boolean).join('; ') || 'ALL';
      const f = c.filters?.[0]?.typedConfig ?? {};
      const dest = f.rds ? `Route: ${f.rds.routeConfigName}` : f.routeConfig ? `Inline Route: ${f.routeConfig.name ?? ''}` : f.cluster ? `Cluster: ${f.cluster}` : f.weightedClusters ? 'Cluster: weighted' : '';
      rows.push([String(addr.address ?? ''), String(addr.portValue ?? ''), match, dest]);
    }
  }
  return rows;
}

function routeRows(dump: Dump): string[][] {
  const rows = [['NAME', 'VHOST NAME', 'DOMAINS', 'MATCH', 'VIRTUAL SERVICE']];
  for (const rc of dump.rds ?? []) {
    for (const vh of rc.virtualHosts ?? []) {
      for (const r of vh.routes ?? []) {
        const m = r.match ?? {};
        const match = m.prefix !== undefined ? `${m.prefix}*` : m.path ?? m.safeRegex?.regex ?? m.pathSeparatedPrefix ?? '/*';
        const vs = r.metadata?.filterMetadata?.istio?.config ?? '';
        const domains = (vh.domains ?? []) as string[];
        rows.push([rc.name, vh.name, domains.length > 1 ? `${domains[0]} +${domains.length - 1} more...` : (domains[0] ?? ''), match, String(vs).split('/').slice(-3).join('/')]);
      }
    }
  }
  return rows;
}

function endpointRows(dump: Dump): string[][] {
  const rows = [['ENDPOINT', 'STATUS', 'CLUSTER']];
  for (const cla of dump.eds ?? []) {
    for (const loc of cla.endpoints ?? []) {
      for (const ep of loc.lbEndpoints ?? []) {
        const a = ep.endpoint?.address?.socketAddress ?? {};
        rows.push([`${a.address}:${a.portValue}`, ep.healthStatus ?? 'HEALTHY', cla.clusterName]);
      }
    }
  }
  return rows;
}

const KINDS = {
  cluster: { type: 'cds', rows: clusterRows },
  listener: { type: 'lds', rows: listenerRows },
  route: { type: 'rds', rows: routeRows },
  endpoint: { type: 'eds', rows: endpointRows },
} as const;

function subcommand(kind: keyof typeof KINDS | 'all'): Command {
  return new Command(kind)
    .description(kind === 'all' ? 'Retrieves all configuration for the proxy' : `Retrieves ${kind} configuration for the proxy`)
    .argument('<proxy>', 'pod.namespace or node id of a connected proxy')
    .option('--isthmusd <addr>', "isthmusd's HTTP debug address", DEFAULT_ISTHMUSD)
    .option('-o, --output <format>', 'short, json or yaml', 'short')
    .action(async (proxy: string, o: { isthmusd: string; output: string }) => {
      const dump = await debugGet<Dump>(o.isthmusd, '/debug/config_dump', { proxyID: proxy });
      const kinds = kind === 'all' ? (Object.keys(KINDS) as (keyof typeof KINDS)[]) : [kind];
      if (o.output === 'json' || o.output === 'yaml') {
        const picked = kind === 'all' ? dump : dump[KINDS[kind].type] ?? [];
        process.stdout.write(o.output === 'json' ? `${JSON.stringify(picked, null, 2)}\n` : stringify(picked));
        return;
      }
      const blocks = kinds.map((k) => table(KINDS[k].rows(dump)).join('\n'));
      process.stdout.write(`${blocks.join('\n\n')}\n`);
    });
}

export function proxyConfigCommand(): Command {
  const cmd = new Command('proxy-config').alias('pc').description('Retrieves the xDS configuration isthmusd serves a proxy');
  for (const k of ['cluster', 'listener', 'route', 'endpoint', 'all'] as const) cmd.addCommand(subcommand(k));
  return cmd;
}
