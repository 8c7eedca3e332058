// Starts the real bin/isthmusd as a child process on ephemeral loopback ports.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunningIsthmusd {
  grpc: string;
  secureGrpc: string;
  webhook: string;
  /** Where the CA keeps its root (a temporary directory per run). */
  citadelDir: string;
  http: string;
  monitoring: string;
  logs: Record<string, unknown>[];
  stderr: string[];
  child: ChildProcess;
  stop(): Promise<void>;
  /** Resolves when a log line matching `pred` appears (already seen lines count). */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** Without `configDir`, isthmusd serves the bundled example mesh, as `npm start` does. */
export function startIsthmusd(configDir: string | undefined, env: Record<string, string> = {}, extraArgs: string[] = []): Promise<RunningIsthmusd> {
  const citadelDir = mkdtempSync(join(tmpdir(), 'isthmusd-citadel-'));
  const child = spawn(
    process.execPath,
    [`${ROOT}/bin/isthmusd`, ...(configDir ? ['--configDir', configDir] : []), '--grpcAddr', '127.0.0.1:0', '--httpAddr', '127.0.0.1:0', '--monitoringAddr', '127.0.0.1:0', '--secureGRPCAddr', '127.0.0.1:0', '--httpsAddr', '127.0.0.1:0', ...extraArgs],
    { env: { ...process.env, PILOT_DEBOUNCE_AFTER: '20ms', ISTHMUS_CITADEL_DIR: citadelDir, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const listeners = new Set<(line: Record<string, unknown>) => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text };
    }
    logs.push(line);
    for (const l of listeners) l(line);
  });
  createInterface({ input: child.stderr! }).on('line', (t) => stderr.push(t));

  const waitForLog = (pred: (line: Record<string, unknown>) => boolean, timeoutMs = 15000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const found = logs.find(pred);
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for isthmusd log; stderr: ${stderr.join('\n')}`));
      }, timeoutMs);
      const check = (line: Record<string, unknown>) => {
        if (!pred(line)) return;
        clearTimeout(timer);
        listeners.delete(check);
        resolve(line);
      };
      listeners.add(check);
    });

  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`isthmusd exited with ${code}: ${stderr.join('\n')}`)));
    waitForLog((l) => l.msg === 'isthmusd ready', 30000).then((ready) => {
      resolve({
        grpc: ready.grpc as string,
        secureGrpc: ready.secureGrpc as string,
        webhook: ready.webhook as string,
        citadelDir,
        http: ready.http as string,
        monitoring: ready.monitoring as string,
        logs,
        stderr,
        child,
        waitForLog,
        stop: () =>
          new Promise<void>((res) => {
            const done = () => {
              rmSync(citadelDir, { recursive: true, force: true });
              res();
            };
            if (child.exitCode !== null) return done();
            child.once('exit', done);
            child.kill('SIGTERM');
          }),
      });
    }, reject);
  });
}
