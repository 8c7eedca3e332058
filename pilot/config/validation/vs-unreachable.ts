// VirtualService warnings for rules and matches that can never apply: duplicate matches, rules
// after a catch-all, and prefix matches covered by an earlier, shorter prefix.
import type * as net from '../schema/networking.js';
import { q } from './common.js';
import type { Report } from './report.js';


/** JSON of a match for equality: keys sorted, zero values dropped (as Go's omitempty), `name` ignored. */
function canonical(v: unknown, dropName: boolean): string {
  const norm = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.length ? x.map(norm) : undefined;
    if (x && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(x).sort()) {
        const n = norm((x as Record<string, unknown>)[k]);
        if (n !== undefined) out[k] = n;
      }
      return Object.keys(out).length ? out : undefined;
    }
    return x === false || x === 0 || x === '' ? undefined : x;
  };
  const value = dropName && v && typeof v === 'object' ? { ...(v as object), name: undefined } : v;
  return JSON.stringify(norm(value) ?? {});
}

interface PrefixMatch {
  route: string;
  match: string;
  prefix: string;
  port: number;
  method: string;
  authority: string;
  headers: Map<string, string>;
  queryParams: Map<string, string>;
  withoutHeaders: Map<string, string>;
}

const exactOrPrefix = (m: net.StringMatch | undefined): string =>
  m?.exact ? `exact:${m.exact}` : m?.prefix ? `prefix:${m.prefix}` : '';

const routeName = (http: { name?: string } | undefined, i: number) => (http?.name ? q(http.name) : `#${i}`);

function prefixMatchOf(http: net.HTTPRoute, m: net.HTTPMatchRequest, ri: number, mi: number): PrefixMatch | undefined {
  const prefix = m.uri?.prefix;
  if (!prefix) return undefined;
  const toMap = (sms: Record<string, net.StringMatch> | undefined) => new Map(Object.entries(sms ?? {}).map(([k, v]) => [k, exactOrPrefix(v)]));
  return {
    route: routeName(http, ri),
    match: m.name ? q(m.name) : `#${mi}`,
    prefix,
    port: m.port ?? 0,
    method: exactOrPrefix(m.method) || 'exact:GET',
    authority: exactOrPrefix(m.authority),
    headers: toMap(m.headers),
    queryParams: toMap(m.queryParams),
    withoutHeaders: toMap(m.withoutHeaders),
  };
}

function mapCovered(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const bv = b.get(k);
    if (bv === undefined) return false;
    if (v !== bv && !v.startsWith(bv)) return false;
  }
  return true;
}

/** The earlier prefix match `a` catches everything the later match `b` would. */
function covers(a: PrefixMatch, b: PrefixMatch): boolean {
  if (!b.prefix.startsWith(a.prefix) || a.port !== b.port) return false;
  if (a.method !== b.method && !a.method.startsWith(b.method)) return false;
  if (a.authority !== b.authority && !a.authority.startsWith(b.authority)) return false;
  return mapCovered(a.headers, b.headers) && mapCovered(a.queryParams, b.queryParams) && mapCovered(a.withoutHeaders, b.withoutHeaders);
}

function analyzeUnreachable<R extends { match?: M[] }, M>(
  r: Report,
  section: string,
  routes: R[],
  name: (route: R, i: number) => string,
  matchName: (m: M, i: number) => string,
  onMatch?: (route: R, m: M, ri: number, mi: number) => void,
): void {
  const seen = new Map<string, number>();
  let emptyMatchAt = -1;
  routes.forEach((route, ri) => {
    const unused = (reason: string) => r.warn(`virtualService rule ${name(route, ri)} not used (${reason})`, section, ri);
    if (!route.match?.length) {
      if (emptyMatchAt >= 0) unused('only the last rule can have no matches');
      emptyMatchAt = ri;
      return;
    }
    let duplicates = 0;
    route.match.forEach((m, mi) => {
      if (emptyMatchAt >= 0) return unused('route without matches defined before');
      const key = canonical(m, section === 'http');
      const dup = seen.get(key);
      if (dup !== undefined) {
        r.warn(
          `virtualService rule ${name(route, ri)} match ${matchName(m, mi)} is not used (duplicate/overlapping match in rule ${name(routes[dup]!, dup)})`,
          section, ri, 'match', mi,
        );
        duplicates++;
        return;
      }
      seen.set(key, ri);
      onMatch?.(route, m, ri, mi);
    });
    if (duplicates === route.match.length) unused('all matches used by prior rules');
  });
}

export function analyzeUnreachableRules(r: Report, vs: net.VirtualService): void {
  const prefixMatches: PrefixMatch[] = [];
  analyzeUnreachable<net.HTTPRoute, net.HTTPMatchRequest>(
    r, 'http', vs.http ?? [], routeName, (m, i) => (m.name ? q(m.name) : `#${i}`),
    (route, m, ri, mi) => {
      const pm = prefixMatchOf(route, m, ri, mi);
      if (pm) prefixMatches.push(pm);
    },
  );
  for (let i = 0; i < prefixMatches.length; i++) {
    const a = prefixMatches[i]!;
    for (let j = i + 1; j < prefixMatches.length; j++) {
      const b = prefixMatches[j]!;
      if (b.prefix === a.prefix) continue;
      if (covers(a, b)) {
        r.warn(
          `virtualService rule ${b.route} match ${b.match} of prefix ${b.prefix} is not used (duplicate/overlapping match in rule ${a.match} of prefix ${a.prefix} on ${a.route})`,
        );
      }
    }
  }
  const l4Name = (_: unknown, i: number) => `#${i}`;
  analyzeUnreachable(r, 'tcp', vs.tcp ?? [], l4Name, l4Name);
  analyzeUnreachable(r, 'tls', vs.tls ?? [], l4Name, l4Name);
}
