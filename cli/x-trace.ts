// `isthmusctl x trace [PROXY] URL`: why does this request go where it goes? Walks the request
// through the Envoy config isthmusd generates for the proxy (listener, filter chain, route,
// cluster) and names the Istio resources behind each step and the endpoints it can reach.
//
// Offline on a config directory (-d DIR), or against a running isthmusd (its /debug/trace).
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { DirectoryConfigSource } from '../pilot/config/directory.js';
import { defaultMeshConfig } from '../pilot/model/mesh.js';
import { PushContext } from '../pilot/model/push-context.js';
import { buildServiceIndex } from '../pilot/registry/index.js';
import { parseHeader, parseLabels } from '../pilot/debug/trace.js';
import type { CallProtocol, TlsMode } from '../pilot/simulation/call.js';
import { traceRequest, type TraceReport, type TraceRequest } from '../pilot/simulation/trace.js';
import { resolveProxy, type ProxySelector } from '../pilot/simulation/workload.js';
import { formatTrace } from './x-trace-format.js';
import { collect } from './table.js';
import { xAuthzCommand } from './x-authz.js';
import { xPreviewCommand } from './x-preview.js';

interface TraceOptions {
  configDir?: string;
  isthmusd: string;
  domain: string;
  labels?: string;
  namespace?: string;
  type?: 'sidecar' | 'router';
  header: string[];
  request?: string;
  tls?: boolean;
  mtls?: boolean;
  sni?: string;
  alpn?: string;
  protocol?: CallProtocol;
  http2?: boolean;
  inbound?: boolean;
  address?: string;
  principal?: string;
  sourceIp?: string;
  jwtClaims?: string;
  output: 'table' | 'json' | 'yaml';
}


function parseClaims(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`--jwt-claims: not JSON: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('--jwt-claims: expected a JSON object, e.g. {"iss":"https://issuer","sub":"alice"}');
  return v as Record<string, unknown>;
}

async function offline(dir: string, domain: string, selector: ProxySelector, request: TraceRequest): Promise<TraceReport> {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new Error(`--configDir ${dir} is not a directory`);
  const source = new DirectoryConfigSource(root);
  await source.load();
  const errors = source.store.errors();
  if (errors.length) process.stderr.write(`Warning: ${errors.length} resource(s) in ${dir} were rejected and are not part of the trace (see \`isthmusctl validate -f ${dir}\`)\n`);
  const push = new PushContext('offline', defaultMeshConfig(), domain, buildServiceIndex(source.store, { domainSuffix: domain }), source.store);
  const proxy = resolveProxy(selector, source.store, domain);
  return traceRequest(push, proxy, request);
}

async function remote(addr: string, selector: ProxySelector, request: TraceRequest): Promise<TraceReport> {
  const base = /^https?:\/\//.test(addr) ? addr : `http://${addr}`;
  const u = new URL('/debug/trace', base);
  const set = (k: string, v: string | undefined) => v !== undefined && v !== '' && u.searchParams.set(k, v);
  set('proxy', selector.proxy);
  set('namespace', selector.namespace);
  set('type', selector.type);
  if (selector.labels) set('labels', Object.entries(selector.labels).map(([k, v]) => `${k}=${v}`).join(','));
  set('url', request.url);
  set('method', request.method);
  for (const [k, v] of request.headers ?? []) u.searchParams.append('header', `${k}: ${v}`);
  set('tls', request.tls);
  set('sni', request.sni);
  set('alpn', request.alpn);
  set('protocol', request.protocol);
  set('address', request.address);
  set('principal', request.principal);
  set('sourceAddress', request.sourceAddress);
  if (request.jwtClaims) set('jwtClaims', JSON.stringify(request.jwtClaims));
  if (request.inbound) set('inbound', 'true');
  let res: Response;
  try {
    res = await fetch(u);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach isthmusd at ${base} (${cause?.code ?? cause?.message ?? (e as Error).message}); use --isthmusd HOST:PORT, or -d DIR to trace a config directory offline`);
  }
  const body = (await res.json().catch(() => ({ error: `isthmusd answered ${res.status} without JSON` }))) as TraceReport | { error: string };
  if (!res.ok || 'error' in body) throw new Error(`isthmusd: ${'error' in body ? body.error : res.statusText}`);
  return body;
}

export function xTraceCommand(): Command {
  return new Command('trace')
    .description(
      'Trace a request through a proxy\'s generated Envoy config: listener, filter chain, route, cluster, the Istio resources behind each step, and the endpoints reached',
    )
    .usage('[options] [PROXY] URL')
    .argument('<target...>', 'PROXY (a pod NAME.NAMESPACE or a proxy id; or use --labels) and the request URL (http://host[:port]/path, https://, grpc://, tcp://host:port, tls://host:port)')
    .option('-d, --configDir <dir>', 'trace offline against a directory of Istio/Kubernetes YAML instead of a running isthmusd')
    .option('--isthmusd <addr>', "isthmusd's HTTP debug address", process.env.ISTHMUSD_HTTP_ADDR ?? '127.0.0.1:8080')
    .option('--domain <suffix>', 'DNS domain suffix of services (offline)', 'cluster.local')
    .option('-l, --labels <k=v,...>', 'select the workload by labels (with --namespace) instead of naming a proxy')
    .option('-n, --namespace <ns>', 'namespace of the workload selected by --labels, or of a PROXY given without one', undefined)
    .addOption(new Option('--type <type>', 'proxy type').choices(['sidecar', 'router']))
    .option('-H, --header <header>', 'request header "Name: value" (repeatable; Host overrides the URL host)', collect, [] as string[])
    .option('-X, --request <method>', 'HTTP method', 'GET')
    .option('--tls', 'the client originates TLS (https://, grpcs:// and tls:// imply it)')
    .option('--mtls', "the client originates Istio mutual TLS (as a client sidecar does)")
    .option('--sni <name>', 'TLS server name (default: the URL host when TLS)')
    .option('--alpn <protocol>', 'TLS ALPN (default: from the protocol)')
    .addOption(new Option('--protocol <protocol>', 'application protocol').choices(['http', 'http2', 'tcp']))
    .option('--http2', 'HTTP/2 (h2c or h2) instead of HTTP/1.1', false)
    .option('--inbound', 'trace the request arriving at the proxy (its inbound side) instead of leaving it', false)
    .option('--address <ip>', 'destination IP, when the host does not resolve to a service VIP')
    .option('--principal <identity>', "the caller's identity for authorization (cluster.local/ns/NS/sa/SA), seen on --mtls calls")
    .option('--source-ip <ip>', "the caller's address, for authorization on source IPs")
    .option('--jwt-claims <json>', 'the payload of a valid JWT the request carries, for authorization on request principals and claims')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .action(async (args: string[], o: TraceOptions) => {
      if (args.length > 2) throw new Error(`expected [PROXY] URL, got ${args.length} arguments: ${args.join(' ')}`);
      const [proxyArg, url] = args.length === 2 ? [args[0], args[1]!] : [undefined, args[0]!];
      const labels = parseLabels(o.labels);
      if (!proxyArg && !labels && !o.namespace) throw new Error('name a proxy (POD.NAMESPACE or a proxy id) or select one with --labels k=v --namespace NS');
      if (o.tls && o.mtls) throw new Error('--tls and --mtls are exclusive');
      const tls: TlsMode | undefined = o.mtls ? 'mtls' : o.tls ? 'tls' : undefined;
      const selector: ProxySelector = { proxy: proxyArg, labels, namespace: o.namespace, type: o.type };
      const request: TraceRequest = {
        url,
        method: o.request,
        headers: o.header.map(parseHeader),
        tls,
        sni: o.sni,
        alpn: o.alpn,
        protocol: o.protocol ?? (o.http2 ? 'http2' : undefined),
        inbound: o.inbound,
        address: o.address,
        principal: o.principal,
        sourceAddress: o.sourceIp,
        jwtClaims: o.jwtClaims === undefined ? undefined : parseClaims(o.jwtClaims),
      };
      const report = o.configDir ? await offline(o.configDir, o.domain, selector, request) : await remote(o.isthmusd, selector, request);
      if (o.output === 'json') process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else if (o.output === 'yaml') process.stdout.write(stringify(report));
      else process.stdout.write(formatTrace(report));
      // Like curl -f: the trace is printed either way; a request that would fail exits 1.
      if (report.result.error) process.exitCode = 1;
    });
}

/** `isthmusctl x`: experimental commands, as in istioctl. */
export function xCommand(): Command {
  return new Command('x').alias('experimental').description('Experimental commands that may be modified or deprecated').addCommand(xTraceCommand()).addCommand(xAuthzCommand()).addCommand(xPreviewCommand());
}
