// Starts bin/isthmusd as its own process on loopback ephemeral ports and follows its JSON logs.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Isthmusd {
  pid: number;
  grpc: string;
  monitoring: string;
  child: ChildProcess;
  /** Log lines that matter to the simulator (pushes, warnings, errors). */
  logs: Record<string, unknown>[];
  stderr: string[];
  stop(): Promise<void>;
}

const KEEP = new Set(['pushed config', 'isthmusd ready']);

export function startIsthmusd(configDir: string, env: Record<string, string> = {}, nodeArgs: string[] = [], root = ROOT): Promise<Isthmusd> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, ...(process.env.ISTHMUS_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), `${root}/bin/isthmusd`, '--configDir', configDir, '--grpcAddr', '127.0.0.1:0', '--httpAddr', '127.0.0.1:0', '--monitoringAddr', '127.0.0.1:0', '--secureGRPCAddr', '', '--httpsAddr', ''],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  // ISTHMUS_BENCH_STDERR=FILE keeps isthmusd's stderr in a file (e.g. with GRPC_TRACE) instead of memory.
  const stderrFile = process.env.ISTHMUS_BENCH_STDERR;
  let onReady: ((line: Record<string, unknown>) => void) | undefined;
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Not a log line (say, V8's --trace-gc): kept with stderr when that goes to a file.
      if (stderrFile) appendFileSync(stderrFile, `${text}\n`);
      return;
    }
    const level = typeof line.level === 'number' ? line.level : 30;
    if (KEEP.has(line.msg as string) || level >= 40) logs.push(line);
    if (line.msg === 'isthmusd ready') onReady?.(line);
  });
  createInterface({ input: child.stderr! }).on('line', (t) => (stderrFile ? appendFileSync(stderrFile, `${t}\n`) : stderr.push(t)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`isthmusd did not start: ${stderr.join('\n')}`)), 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`isthmusd exited with ${code}: ${stderr.join('\n')}`));
    });
    onReady = (ready) => {
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        grpc: ready.grpc as string,
        monitoring: ready.monitoring as string,
        child,
        logs,
        stderr,
        stop: () =>
          new Promise<void>((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res();
            child.once('exit', () => res());
            child.kill('SIGTERM');
          }),
      });
    };
  });
}
