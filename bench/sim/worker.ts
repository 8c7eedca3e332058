// A worker process of the load simulator: runs a share of the simulated proxies and answers the
// orchestrator's questions over IPC. Started with `fork` (never inside isthmusd's process).
import type { MessageMemory } from './message-memory.js';
import { messageMemoryStats, now, SimProxy, type PhaseStats, type ProxySpec } from './proxy.js';

export type WorkerRequest =
  | { op: 'start'; addr: string; proxies: ProxySpec[]; rampMs?: number }
  | { op: 'mark' }
  | { op: 'status' }
  | { op: 'phase' }
  | { op: 'stop' };

export interface WorkerStatus {
  /** CPU seconds this worker used so far. */
  cpuSeconds: number;
  ready: number;
  reconnects: number;
  /** Reconnects by reason. */
  reconnectReasons: Record<string, number>;
  failed: { id: string; error: string }[];
  /** Epoch ms of the newest response any proxy of this worker received. */
  lastResponseAt: number;
  responded: number;
  /** What the worker's memory for responses spanning reads cost so far. */
  messageMemory: MessageMemory['stats'];
}

export interface ProxyPhase extends PhaseStats {
  id: string;
  readyAt: number;
}

let proxies: SimProxy[] = [];
let lastResponseAt = 0;

function status(): WorkerStatus {
  let ready = 0;
  let responded = 0;
  let reconnects = 0;
  const reconnectReasons: Record<string, number> = {};
  const failed: { id: string; error: string }[] = [];
  for (const p of proxies) {
    if (p.readyAt) ready++;
    reconnects += p.reconnects;
    for (const [r, n] of p.failures) reconnectReasons[r] = (reconnectReasons[r] ?? 0) + n;
    if (p.phase.responses) responded++;
    if (p.error) failed.push({ id: p.spec.id, error: p.error });
    if (p.phase.lastAckAt > lastResponseAt) lastResponseAt = p.phase.lastAckAt;
  }
  const cpu = process.cpuUsage();
  return { cpuSeconds: (cpu.user + cpu.system) / 1e6, ready, reconnects, reconnectReasons, failed, lastResponseAt, responded, messageMemory: messageMemoryStats() };
}

function reply(id: number, body: unknown): void {
  process.send!({ id, body });
}

process.on('message', (msg: { id: number; req: WorkerRequest }) => {
  const { id, req } = msg;
  switch (req.op) {
    case 'start': {
      proxies = req.proxies.map((s) => new SimProxy(s));
      const step = req.rampMs && proxies.length > 1 ? req.rampMs / proxies.length : 0;
      proxies.forEach((p, i) => (step ? setTimeout(() => p.start(req.addr), i * step) : p.start(req.addr)));
      reply(id, { startedAt: now() });
      break;
    }
    case 'mark':
      for (const p of proxies) p.resetPhase();
      lastResponseAt = 0;
      reply(id, {});
      break;
    case 'status':
      reply(id, status());
      break;
    case 'phase':
      reply(id, proxies.map((p): ProxyPhase => ({ id: p.spec.id, readyAt: p.readyAt, ...p.phase })));
      break;
    case 'stop':
      for (const p of proxies) p.stop();
      reply(id, {});
      setTimeout(() => process.exit(0), 100);
      break;
  }
});
process.on('disconnect', () => process.exit(0));
