// Pieces for testing the load simulator's HTTP/2 client against a peer written by hand: a TCP
// server that writes whatever bytes a test lays out, HTTP/2 frames, and a simulated proxy that
// records the messages it is handed instead of reading them as xDS.
import * as net from 'node:net';
import type { MessageMemory } from '../../bench/sim/message-memory.js';
import { SimProxy, type ProxySpec } from '../../bench/sim/proxy.js';

/** One HTTP/2 frame: 9-byte header, then the payload. */
export function h2Frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

/** A loopback TCP server calling `serve` with each connection (and its index); what it reads is discarded. */
export async function rawServer(serve: (socket: net.Socket, index: number) => Promise<void> | void): Promise<{ addr: string; close(): void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.resume();
    s.setNoDelay(true);
    void serve(s, sockets.push(s) - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    addr: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** A proxy whose responses are recorded (copied) instead of read as xDS; the memory is overwritten after. */
export function recordingProxy(spec: ProxySpec, memory?: MessageMemory): { p: SimProxy; got: Buffer[] } {
  const p = new SimProxy(spec, memory);
  const got: Buffer[] = [];
  (p as unknown as { deliver: (msg: Buffer) => void }).deliver = (msg) => {
    got.push(Buffer.from(msg));
    msg.fill(0xa5);
  };
  return { p, got };
}
