// Starts bin/isthmusd as its own process on loopback ephemeral ports and follows its JSON logs.
//
// isthmusd's stdout goes to a file, not a pipe: its logger writes synchronously, and a pipe that
// the (busy) simulator does not drain at once would stall isthmusd's event loop on every full
// pipe buffer. A file never blocks; the runner reads what was appended.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freshBundle } from '../../bin/launch.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

export interface Isthmusd {
  pid: number;
  grpc: string;
  monitoring: string;
  child: ChildProcess;
  /** Log lines that matter to the simulator (pushes, warnings, errors), read up to now. */
  readonly logs: Record<string, unknown>[];
  stderr: string[];
  stop(): Promise<void>;
}

const KEEP = new Set(['pushed config', 'isthmusd ready']);

/** Reads complete lines appended to a file since the last call. */
class LogFile {
  private offset = 0;
  private partial = '';
  private readonly buf = Buffer.allocUnsafe(1 << 20);

  constructor(private readonly fd: number) {}

  lines(): string[] {
    let text = this.partial;
    for (;;) {
      const n = readSync(this.fd, this.buf, 0, this.buf.length, this.offset);
      if (n <= 0) break;
      this.offset += n;
      text += this.buf.toString('utf8', 0, n);
    }
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    return parts;
  }
}

/** ISTHMUS_BENCH_ENV="K=V K2=V2": environment for isthmusd alone (say, malloc tunables), not the simulator. */
function benchEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of process.env.ISTHMUS_BENCH_ENV?.split(' ').filter(Boolean) ?? []) {
    const eq = pair.indexOf('=');
    if (eq > 0) out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

export function startIsthmusd(configDir: string, env: Record<string, string> = {}, nodeArgs: string[] = [], root = ROOT): Promise<Isthmusd> {
  // A stale bundle makes bin/isthmusd run its TypeScript sources: slower, more memory, other figures.
  if (!freshBundle('isthmusd', root)) {
    console.warn(`warning: ${root}/bin/isthmusd will run from its TypeScript sources (no bundle, or a source is newer than it): figures are not comparable; run \`node tools/bundle.mjs\` there first`);
  }
  // Beside the config directory, not in it (isthmusd watches that); removed when isthmusd stops.
  const logPath = `${configDir}.isthmusd.log`;
  const out = openSync(logPath, 'w+');
  const child = spawn(
    process.execPath,
    [...nodeArgs, ...(process.env.ISTHMUS_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), `${root}/bin/isthmusd`, '--configDir', configDir, '--grpcAddr', '127.0.0.1:0', '--httpAddr', '127.0.0.1:0', '--monitoringAddr', '127.0.0.1:0', '--secureGRPCAddr', '', '--httpsAddr', ''],
    { env: { ...process.env, ...benchEnv(), ...env }, stdio: ['ignore', out, 'pipe'] },
  );
  const file = new LogFile(out);
  const kept: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  // ISTHMUS_BENCH_STDERR=FILE keeps isthmusd's stderr in a file (e.g. with GRPC_TRACE) instead of memory.
  const stderrFile = process.env.ISTHMUS_BENCH_STDERR;
  let closed = false;
  const read = (): Record<string, unknown>[] => {
    if (closed) return kept;
    for (const text of file.lines()) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Not a log line (say, V8's --trace-gc): kept with stderr when that goes to a file.
        if (stderrFile) appendFileSync(stderrFile, `${text}\n`);
        continue;
      }
      const level = typeof line.level === 'number' ? line.level : 30;
      if (KEEP.has(line.msg as string) || level >= 40) kept.push(line);
    }
    return kept;
  };
  createInterface({ input: child.stderr! }).on('line', (t) => (stderrFile ? appendFileSync(stderrFile, `${t}\n`) : stderr.push(t)));
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  void exited.then(() => {
    read();
    closed = true;
    closeSync(out);
    rmSync(logPath, { force: true });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`isthmusd did not start: ${stderr.join('\n')}`)), 120_000);
    const poll = setInterval(() => {
      const ready = read().find((l) => l.msg === 'isthmusd ready');
      if (!ready) return;
      clearTimeout(timer);
      clearInterval(poll);
      resolve({
        pid: child.pid!,
        grpc: ready.grpc as string,
        monitoring: ready.monitoring as string,
        child,
        get logs() {
          return read();
        },
        stderr,
        stop: () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    }, 50);
    function fail(err: Error): void {
      clearTimeout(timer);
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(err);
    }
    child.once('exit', (code) => fail(new Error(`isthmusd exited with ${code}: ${stderr.join('\n')}`)));
  });
}
