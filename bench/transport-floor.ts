// The floor of loopback transport on this machine (`npm run bench:transport`): one message per
// connection from a server process to client processes, over raw TCP and over h2c (received by
// Node's HTTP/2 client, and by the load simulator's own, bench/sim/h2-stream.ts), with no xDS work
// at all. On a shared 2-core box `npm run bench` figures mean little until compared against this.
import { fork, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { H2GrpcStream } from './sim/h2-stream.js';

type Transport = 'tcp' | 'http2' | 'http2-sim';
const TRANSPORTS: readonly Transport[] = ['tcp', 'http2', 'http2-sim'];
type Msg =
  | { type: 'listening'; port: number }
  | { type: 'ready' }
  | { type: 'go' }
  | { type: 'cpu'; cpuS?: number; errors?: string[] }
  | { type: 'done'; bytes: number; cpuS: number; failed: number; errors: string[] };
interface Row { transport: Transport; connections: number; messageBytes: number; clientProcesses: number; totalBytes: number; wallMs: number; serverCpuS: number; clientCpuS: number }

// Envoy's xDS client advertises large windows; bench/sim/proxy.ts mirrors it, and so do we.
const WINDOW = 64 << 20;
// 2000 simultaneous connects overflow the default backlog of 511, and the overflow is ECONNRESET.
const BACKLOG = 4096;
const TIMEOUT_MS = 120_000;
const send = (m: Msg): void => void process.send!(m);
const cpuSince = (base: NodeJS.CpuUsage): number => { const u = process.cpuUsage(base); return (u.user + u.system) / 1e6; };

function server(transport: Transport, messageBytes: number): void {
  const message = Buffer.alloc(messageBytes, 0x61);
  const errors: string[] = [];
  const noteError = (e: Error): void => void (errors.length < 5 && errors.push(`server: ${e.message}`));
  let base = process.cpuUsage();
  let srv: net.Server | http2.Http2Server;
  if (transport === 'tcp') {
    srv = net.createServer((socket) => { socket.on('error', noteError); socket.end(message); });
  } else {
    const frame = Buffer.alloc(5 + messageBytes, 0x61);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(messageBytes, 1);
    const h2 = http2.createServer();
    // Clients close the connection once their message is in; a reset after that is no failure
    // (the byte count below catches any that lost data).
    h2.on('sessionError', (e: NodeJS.ErrnoException) => e.code !== 'ECONNRESET' && noteError(e));
    h2.on('stream', (stream) => { stream.on('error', noteError); stream.respond({ ':status': 200 }); stream.end(frame); });
    srv = h2;
  }
  srv.listen({ port: 0, host: '127.0.0.1', backlog: BACKLOG }, () => send({ type: 'listening', port: (srv.address() as net.AddressInfo).port }));
  process.on('message', (m: Msg) => {
    if (m.type === 'go') base = process.cpuUsage();
    if (m.type === 'cpu') send({ type: 'cpu', cpuS: cpuSince(base), errors });
  });
}

function client(transport: Transport, port: number, connections: number): void {
  let bytes = 0;
  let settled = 0;
  let failed = 0;
  const errors: string[] = [];
  let base = process.cpuUsage();
  // 'end' and 'error' (or several errors) can all fire for one connection; it must count once.
  const settler = (): ((e?: Error) => void) => {
    let done = false;
    return (e) => {
      if (done) return;
      done = true;
      if (e && ++failed <= 5) errors.push(`client: ${e.message}`);
      if (++settled === connections) send({ type: 'done', bytes, cpuS: cpuSince(base), failed, errors });
    };
  };
  const tcpReadBuffer = Buffer.allocUnsafeSlow(256 * 1024);
  const openTcp = (): void => {
    const settle = settler();
    // Into one reused buffer, as the simulator reads: Node's default of a fresh buffer per read
    // costs the clients several times as much CPU at these volumes.
    const socket = net.connect({ port, host: '127.0.0.1', onread: { buffer: tcpReadBuffer, callback: (n: number) => { bytes += n; return true; } } });
    socket.on('end', () => settle());
    socket.on('error', settle);
  };
  const openH2 = (): void => {
    const settle = settler();
    const session = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: WINDOW, enablePush: false }, maxSessionMemory: 1024 });
    session.on('connect', () => session.setLocalWindowSize(WINDOW));
    session.on('error', settle);
    const req = session.request({ ':method': 'POST', ':path': '/x', 'content-type': 'application/grpc' });
    req.on('data', (d: Buffer) => { bytes += d.length; });
    req.on('end', () => { session.close(); settle(); });
    req.on('error', settle);
    req.end();
  };
  const openSim = (): void => {
    const settle = settler();
    new H2GrpcStream(`127.0.0.1:${port}`, '/x', { window: WINDOW, headers: {} }, {
      data: (d) => void (bytes += d.length),
      // The server ends its side after the message; anything else is a failure.
      closed: (reason) => settle(/without trailers/.test(reason) ? undefined : new Error(reason)),
    });
  };
  const open = { tcp: openTcp, http2: openH2, 'http2-sim': openSim }[transport];
  process.on('message', (m: Msg) => {
    if (m.type !== 'go') return;
    base = process.cpuUsage();
    for (let i = 0; i < connections; i++) open();
    if (connections === 0) send({ type: 'done', bytes, cpuS: 0, failed, errors });
  });
  send({ type: 'ready' });
}

const self = fileURLToPath(import.meta.url);
const spawn = (args: string[]): ChildProcess => {
  const child = fork(self, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.on('error', () => {}); // a send to a dead child: its 'exit' already fails the run
  return child;
};
const nextMessage = (child: ChildProcess, type: Msg['type']): Promise<Msg> =>
  new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`child exited (${child.exitCode ?? child.signalCode}) before '${type}'`));
    const onMessage = (m: Msg): void => { if (m.type === type) { off(); resolve(m); } };
    const onExit = (code: number | null, signal: string | null): void => { off(); reject(new Error(`child exited (${code ?? signal}) while waiting for '${type}'`)); };
    const off = (): void => { child.off('message', onMessage); child.off('exit', onExit); };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });

async function measure(transport: Transport, connections: number, messageBytes: number, clientProcesses: number): Promise<Row> {
  const children: ChildProcess[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const srv = spawn(['server', transport, String(messageBytes)]);
    children.push(srv);
    const { port } = (await nextMessage(srv, 'listening')) as Extract<Msg, { type: 'listening' }>;
    const clients = Array.from({ length: clientProcesses }, (_, i) => {
      const share = Math.floor(connections / clientProcesses) + (i < connections % clientProcesses ? 1 : 0);
      return spawn(['client', transport, String(port), String(share)]);
    });
    children.push(...clients);
    await Promise.all(clients.map((c) => nextMessage(c, 'ready')));

    const dones = clients.map((c) => nextMessage(c, 'done') as Promise<Extract<Msg, { type: 'done' }>>);
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${transport}: no result after ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS); });
    const started = performance.now();
    for (const c of children) c.send({ type: 'go' } satisfies Msg);
    const results = await Promise.race([Promise.all(dones), timeout]);
    const wallMs = performance.now() - started;
    const clientErrors = results.flatMap((r) => r.errors);
    const failed = results.reduce((s, r) => s + r.failed, 0);
    if (failed) throw new Error(`${transport}: ${failed} of ${connections} connections failed: ${clientErrors.join('; ')}`);
    const cpuReply = nextMessage(srv, 'cpu') as Promise<Extract<Msg, { type: 'cpu' }>>;
    srv.send({ type: 'cpu' } satisfies Msg);
    const cpu = await Promise.race([cpuReply, timeout]);
    if (cpu.errors?.length) throw new Error(`${transport}: ${cpu.errors.join('; ')}`);

    const totalBytes = results.reduce((s, r) => s + r.bytes, 0);
    const expected = connections * (messageBytes + (transport === 'tcp' ? 0 : 5));
    if (totalBytes !== expected) throw new Error(`${transport}: received ${totalBytes} bytes, expected ${expected}`);
    return { transport, connections, messageBytes, clientProcesses, totalBytes, wallMs, serverCpuS: cpu.cpuS ?? NaN, clientCpuS: results.reduce((s, r) => s + r.cpuS, 0) };
  } finally {
    clearTimeout(timer);
    for (const c of children) c.kill();
  }
}

async function main(): Promise<void> {
  const o = new Command('bench:transport')
    .description('Floor of loopback transport: one message per connection, server process to client processes, no xDS')
    .option('--connections <n>', 'connections (one message each)', '2000')
    .option('--message-mb <x>', 'message size in MB (10^6 bytes)', '3')
    .option('--client-processes <n>', 'client processes sharing the connections', '2')
    .option('--transports <list>', `any of ${TRANSPORTS.join(',')}`, TRANSPORTS.join(','))
    .option('--json <file>', 'also write the rows as JSON')
    .parse()
    .opts<{ connections: string; messageMb: string; clientProcesses: string; transports: string; json?: string }>();
  const transports = o.transports.split(',').map((t) => t.trim());
  for (const t of transports) if (!TRANSPORTS.includes(t as Transport)) throw new Error(`--transports: unknown ${JSON.stringify(t)}`);
  const connections = Number(o.connections);
  const messageBytes = Math.round(Number(o.messageMb) * 1e6);
  const clientProcesses = Number(o.clientProcesses);
  if (!(connections > 0 && messageBytes > 0 && clientProcesses > 0)) throw new Error('--connections, --message-mb and --client-processes must be positive');

  const rows: Row[] = [];
  for (const t of transports as Transport[]) {
    console.error(`== ${t}: ${connections} connections x ${o.messageMb} MB, ${clientProcesses} client processes`);
    rows.push(await measure(t, connections, messageBytes, clientProcesses));
    if (o.json) writeFileSync(o.json, JSON.stringify(rows, null, 2) + '\n');
  }
  const cols: [string, (r: Row) => string][] = [
    ['transport', (r) => r.transport],
    ['connections', (r) => String(r.connections)],
    ['message_MB', (r) => (r.messageBytes / 1e6).toFixed(1)],
    ['total_GB', (r) => (r.totalBytes / 1e9).toFixed(2)],
    ['wall_ms', (r) => r.wallMs.toFixed(0)],
    ['server_cpu_s', (r) => r.serverCpuS.toFixed(2)],
    ['client_cpu_s', (r) => r.clientCpuS.toFixed(2)],
  ];
  const widths = cols.map(([h], i) => Math.max(h.length, ...rows.map((r) => cols[i]![1](r).length)));
  console.log(cols.map(([h], i) => h.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const r of rows) console.log(cols.map(([, f], i) => f(r).padEnd(widths[i]!)).join('  ').trimEnd());
}

const [role, transport, a, b] = process.argv.slice(2);
// A parent that dies without cleaning up must not leave a listening server or clients behind.
if (role === 'server' || role === 'client') process.on('disconnect', () => process.exit(0));
if (role === 'server') server(transport as Transport, Number(a));
else if (role === 'client') client(transport as Transport, Number(a), Number(b));
else await main().catch((e: Error) => { console.error(`bench:transport: ${e.message}`); process.exitCode = 1; });
