// The readable form of a TraceReport: a header, one row per step with the Istio resources that
// produced it, the outcome, and each reached cluster with its endpoints.
import type { ConfigRef, TraceReport } from '../pilot/simulation/trace.js';

import { table } from './table.js';

export function formatRef(r: ConfigRef): string {
  return `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}${r.role ? ` (${r.role})` : ''}`;
}

export function formatTrace(t: TraceReport): string {
  const out: string[] = [];
  const req = t.request;
  const proxyIps = t.proxy.ipAddresses.length ? t.proxy.ipAddresses.join(',') : 'no IP';
  out.push(`Proxy:    ${t.proxy.workload} (${t.proxy.type}, namespace ${t.proxy.namespace}, ${proxyIps})`);
  const what = req.protocol === 'tcp' ? `${req.tls === 'plaintext' ? 'TCP' : req.tls.toUpperCase()} connection` : `${req.method} ${req.path}`;
  out.push(`Request:  ${what} to ${req.protocol === 'tcp' ? '' : `Host ${req.host}, `}${req.address}:${req.port} (${req.direction}, ${req.protocol}, ${req.tls}${req.sni ? `, SNI ${req.sni}` : ''}${req.alpn ? `, ALPN ${req.alpn}` : ''})`);
  out.push(`Address:  ${req.address} (${req.addressFrom})`);
  const headers = Object.entries(req.headers);
  if (headers.length) out.push(`Headers:  ${headers.map(([k, v]) => `${k}: ${v}`).join('; ')}`);
  const caller = req.caller;
  if (caller) {
    const who = [
      caller.principal && `principal ${caller.principal}${req.tls === 'mtls' ? '' : ' (not seen: the call is not mTLS)'}`,
      caller.address && `from ${caller.address}`,
      caller.jwtClaims && `JWT ${JSON.stringify(caller.jwtClaims)}`,
    ];
    out.push(`Caller:   ${who.filter(Boolean).join(', ')}`);
  }
  out.push('');

  const rows: string[][] = [['STEP', 'MATCHED', 'HOW', 'FROM']];
  for (const s of t.steps) rows.push([s.step, s.name || '(unnamed)', s.detail, s.resources.map(formatRef).join(', ')]);
  out.push(...table(rows));
  out.push('');

  const r = t.result;
  if (r.error) {
    out.push(`Result:   FAILED ${r.error.name}: ${r.error.message}${r.error.detail ? ` (${r.error.detail})` : ''}`);
  } else if (t.clusters.length) {
    out.push(`Result:   ${t.clusters.map((c) => (c.weight !== undefined ? `${c.name} (weight ${c.weight})` : c.name)).join(', ')}`);
  } else {
    out.push(`Result:   ${r.action ?? 'no cluster'}`);
  }
  if (r.action && t.clusters.length) out.push(`Action:   ${r.action}`);

  for (const c of t.clusters) {
    out.push('');
    out.push(`Cluster ${c.name}${c.weight !== undefined ? ` (weight ${c.weight})` : ''}: ${c.type}, endpoints from ${c.endpointSource}`);
    if (c.resources.length) out.push(`  from ${c.resources.map(formatRef).join(', ')}`);
    if (c.endpoints === null) continue;
    if (c.endpoints.length === 0) {
      out.push('  no endpoints');
      continue;
    }
    const eps: string[][] = [['ENDPOINT', 'HEALTH', 'WEIGHT', 'LOCALITY', 'WORKLOAD']];
    for (const e of c.endpoints) {
      eps.push([e.port !== undefined ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port}` : e.address, e.health, e.weight !== undefined ? String(e.weight) : '', e.locality ?? '', e.workload ? formatRef(e.workload) : '']);
    }
    out.push(...table(eps, '  '));
  }
  if (t.notes.length) {
    out.push('');
    for (const n of t.notes) out.push(`Note: ${n}`);
  }
  return out.join('\n') + '\n';
}
