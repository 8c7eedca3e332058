// Value checks beyond structure, per kind. Enough that the translator never sees garbage;
// the full Istio rule set grows here (issue 3).
import type { Issue, PathSegment } from '../schema/dsl.js';
import type { ObjectMeta } from '../resource.js';
import type * as net from '../schema/networking.js';

type Check = (spec: any, meta: ObjectMeta) => Issue[];

class Issues {
  readonly list: Issue[] = [];
  add(path: PathSegment[], message: string): void {
    this.list.push({ path, message });
  }
}

function checkPort(out: Issues, path: PathSegment[], port: number | undefined, what = 'port number'): void {
  if (port === undefined || port < 1 || port > 65535) out.add(path, `${what} ${port ?? '(missing)'} is not in 1..65535`);
}

function checkRegex(out: Issues, path: PathSegment[], re: string | undefined): void {
  if (re === undefined) return;
  try {
    new RegExp(re);
  } catch (e) {
    out.add(path, `invalid regex ${JSON.stringify(re)}: ${(e as Error).message}`);
  }
}

function checkStringMatch(out: Issues, path: PathSegment[], m: net.StringMatch | undefined): void {
  if (m) checkRegex(out, [...path, 'regex'], m.regex);
}

function checkDestination(out: Issues, path: PathSegment[], d: net.Destination | undefined): void {
  if (!d?.host) out.add([...path, 'host'], 'destination host is required');
  if (d?.port?.number !== undefined) checkPort(out, [...path, 'port', 'number'], d.port.number);
}

function checkWeights(out: Issues, path: PathSegment[], routes: { weight?: number }[] | undefined): void {
  (routes ?? []).forEach((r, i) => {
    if ((r.weight ?? 0) < 0) out.add([...path, i, 'weight'], 'weight must not be negative');
  });
}

const virtualService: Check = (spec: net.VirtualService) => {
  const out = new Issues();
  (spec.hosts ?? []).forEach((h, i) => {
    if (!h) out.add(['hosts', i], 'host must not be empty');
  });
  (spec.http ?? []).forEach((route, i) => {
    const path: PathSegment[] = ['http', i];
    if (!route.route?.length && !route.redirect && !route.directResponse && !route.delegate) {
      out.add(path, 'HTTP route, redirect, direct response or delegate is required');
    }
    if (route.route?.length && (route.redirect || route.directResponse)) {
      out.add(path, 'HTTP route cannot contain both route and redirect/directResponse');
    }
    (route.match ?? []).forEach((m, j) => {
      const mp = [...path, 'match', j];
      for (const f of ['uri', 'scheme', 'method', 'authority'] as const) checkStringMatch(out, [...mp, f], m[f]);
      for (const f of ['headers', 'queryParams', 'withoutHeaders'] as const) {
        for (const [k, v] of Object.entries(m[f] ?? {})) checkStringMatch(out, [...mp, f, k], v);
      }
      if (m.port !== undefined) checkPort(out, [...mp, 'port'], m.port);
    });
    (route.route ?? []).forEach((d, j) => checkDestination(out, [...path, 'route', j, 'destination'], d.destination));
    checkWeights(out, [...path, 'route'], route.route);
    if (route.mirror) checkDestination(out, [...path, 'mirror'], route.mirror);
  });
  for (const section of ['tcp', 'tls'] as const) {
    (spec[section] ?? []).forEach((route, i) => {
      if (!route.route?.length) out.add([section, i, 'route'], 'route is required');
      (route.route ?? []).forEach((d, j) => checkDestination(out, [section, i, 'route', j, 'destination'], d.destination));
      checkWeights(out, [section, i, 'route'], route.route);
    });
  }
  return out.list;
};

const destinationRule: Check = (spec: net.DestinationRule) => {
  const out = new Issues();
  if (!spec.host) out.add(['host'], 'host is required');
  const seen = new Set<string>();
  (spec.subsets ?? []).forEach((sub, i) => {
    if (!sub.name) out.add(['subsets', i, 'name'], 'subset name is required');
    else if (seen.has(sub.name)) out.add(['subsets', i, 'name'], `duplicate subset name ${JSON.stringify(sub.name)}`);
    else seen.add(sub.name);
  });
  return out.list;
};

const gateway: Check = (spec: net.Gateway) => {
  const out = new Issues();
  if (!spec.servers?.length) out.add(['servers'], 'gateway must have at least one server');
  (spec.servers ?? []).forEach((srv, i) => {
    checkPort(out, ['servers', i, 'port', 'number'], srv.port?.number);
    if (!srv.hosts?.length) out.add(['servers', i, 'hosts'], 'server config must contain at least one host');
  });
  return out.list;
};

const serviceEntry: Check = (spec: net.ServiceEntry) => {
  const out = new Issues();
  if (!spec.hosts?.length) out.add(['hosts'], 'ServiceEntry must have at least one host');
  const names = new Set<string>();
  (spec.ports ?? []).forEach((p, i) => {
    checkPort(out, ['ports', i, 'number'], p.number);
    if (p.name) {
      if (names.has(p.name)) out.add(['ports', i, 'name'], `duplicate port name ${JSON.stringify(p.name)}`);
      names.add(p.name);
    }
  });
  if (spec.resolution === 'STATIC' && !spec.workloadSelector) {
    (spec.endpoints ?? []).forEach((ep, i) => {
      if (!ep.address) out.add(['endpoints', i, 'address'], 'endpoint address is required for STATIC resolution');
    });
  }
  if (spec.workloadSelector && spec.endpoints?.length) {
    out.add(['workloadSelector'], 'only one of WorkloadSelector or Endpoints is allowed in Service Entry');
  }
  return out.list;
};

const workloadEntry: Check = (spec: net.WorkloadEntry) => {
  const out = new Issues();
  if (!spec.address && !spec.network) out.add(['address'], 'address is required');
  for (const [name, port] of Object.entries(spec.ports ?? {})) checkPort(out, ['ports', name], port);
  return out.list;
};

const CHECKS: Record<string, Check> = {
  VirtualService: virtualService,
  DestinationRule: destinationRule,
  Gateway: gateway,
  ServiceEntry: serviceEntry,
  WorkloadEntry: workloadEntry,
};

export function validateSemantics(kind: string, spec: unknown, meta: ObjectMeta): Issue[] {
  const check = CHECKS[kind];
  return check ? check(spec, meta) : [];
}
