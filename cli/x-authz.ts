// `isthmusctl x authz check PROXY`: the AuthorizationPolicies in a proxy's listeners, by action,
// with how many of each policy's rules are there, in istioctl's table. Reads the listeners
// isthmusd serves a connected proxy, or an Envoy config dump (`-f`, JSON or YAML).
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse } from 'yaml';
import { debugGet, DEFAULT_ISTHMUSD } from './debug-client.js';
import { table } from './table.js';
import { EXT_AUTHZ_MATCH_PREFIX, HTTP_RBAC_FILTER, TCP_RBAC_FILTER } from '../pilot/networking/authz/ext-authz.js';
import { parsePolicyName } from '../pilot/networking/authz/builder.js';

type Json = Record<string, any>;

const HCM = ['envoy.filters.network.http_connection_manager', 'envoy.http_connection_manager'];
const LISTENERS_DUMP = 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump';
/** What istioctl calls the rule of an RBAC filter that has no policies (it matches nothing). */
const ANONYMOUS = '_anonymous_match_nothing_';
const ACTIONS = ['DENY', 'ALLOW', 'LOG', 'CUSTOM'] as const;
type Action = (typeof ACTIONS)[number];

/** A field by its proto-JSON name, or by its proto name as Envoy's own config_dump writes it. */
function field(o: Json | undefined, camel: string): any {
  if (!o) return undefined;
  return o[camel] ?? o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

/** The RBAC filter configs of every filter chain (HTTP ones inside connection managers, and network ones). */
function rbacConfigs(listeners: Json[]): Json[] {
  const out: Json[] = [];
  for (const l of listeners) {
    for (const chain of field(l, 'filterChains') ?? []) {
      for (const f of chain.filters ?? []) {
        if (HCM.includes(f.name)) {
          // A filter without a typed config (configured elsewhere) counts as an empty one, as in istioctl.
          for (const hf of field(field(f, 'typedConfig'), 'httpFilters') ?? []) if (hf.name === HTTP_RBAC_FILTER) out.push(field(hf, 'typedConfig') ?? {});
        } else if (f.name === TCP_RBAC_FILTER) out.push(field(f, 'typedConfig') ?? {});
      }
    }
  }
  return out;
}

/** Rows of `ACTION  AuthorizationPolicy  RULES`: DENY, ALLOW, LOG then CUSTOM, names sorted; none without listeners. */
export function authzRows(listeners: Json[]): string[][] {
  if (!listeners.length) return [];
  const byAction = new Map<Action, Set<string>>();
  const rules = new Map<string, Set<string>>();
  const add = (action: Action, policy: string, rule: string) => {
    if (!byAction.has(action)) byAction.set(action, new Set());
    byAction.get(action)!.add(policy);
    if (!rules.has(policy)) rules.set(policy, new Set());
    rules.get(policy)!.add(rule);
  };
  // A name not in Istio's format still gets a row, with no name (as istioctl prints it).
  const named = (name: string): [string, string] => {
    const from = parsePolicyName(name);
    return from ? [`${from.name}.${from.namespace}`, from.rule] : ['', ''];
  };
  for (const rbac of rbacConfigs(listeners)) {
    const enforcedRules = field(rbac, 'rules');
    // Proto-JSON leaves out the default action, ALLOW.
    const action = (field(enforcedRules, 'action') ?? 'ALLOW') as Action;
    const enforced = Object.keys(field(enforcedRules, 'policies') ?? {});
    for (const name of enforced) add(action, ...named(name));
    for (const name of Object.keys(field(field(rbac, 'shadowRules'), 'policies') ?? {})) {
      if (name.startsWith(`${EXT_AUTHZ_MATCH_PREFIX}-`)) add('CUSTOM', ...named(name));
    }
    if (!enforced.length) add(action, ANONYMOUS, '0');
  }
  const rows = [['ACTION', 'AuthorizationPolicy', 'RULES']];
  for (const action of ACTIONS) {
    for (const policy of [...(byAction.get(action) ?? [])].sort()) rows.push([action, policy, String(rules.get(policy)!.size)]);
  }
  return rows;
}

/** The active dynamic listeners of an Envoy config dump (`/config_dump`, JSON or YAML), as istioctl reads them. */
function listenersFromDump(text: string): Json[] {
  const dump = parse(text) as Json;
  const section = (dump?.configs ?? []).find((c: Json) => c['@type'] === LISTENERS_DUMP);
  if (!section) throw new Error('no ListenersConfigDump in the config dump');
  return (field(section, 'dynamicListeners') ?? []).map((d: Json) => field(field(d, 'activeState'), 'listener')).filter(Boolean);
}

function checkCommand(): Command {
  return new Command('check')
    .description('Check AuthorizationPolicy applied in the pod: the policies in its listeners, by action, with their rule counts')
    .argument('[proxy]', 'pod.namespace or node id of a connected proxy')
    .option('-f, --file <file>', 'an Envoy config dump (JSON or YAML) to read instead of asking isthmusd')
    .option('--isthmusd <addr>', "isthmusd's HTTP debug address", DEFAULT_ISTHMUSD)
    .action(async (proxy: string | undefined, o: { file?: string; isthmusd: string }) => {
      let listeners: Json[];
      if (o.file) listeners = listenersFromDump(readFileSync(o.file, 'utf8'));
      else if (proxy) listeners = (await debugGet<{ lds?: Json[] }>(o.isthmusd, '/debug/config_dump', { proxyID: proxy })).lds ?? [];
      else throw new Error('name a connected proxy (pod.namespace or node id), or give a config dump with -f');
      const rows = authzRows(listeners);
      if (rows.length) process.stdout.write(`${table(rows).join('\n')}\n`);
    });
}

export function xAuthzCommand(): Command {
  return new Command('authz').description('Inspect Istio AuthorizationPolicy').addCommand(checkCommand());
}
