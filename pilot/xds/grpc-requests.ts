// gRPC request assembly into reused memory, the receiving counterpart of grpc-frames.ts.
//
// grpc-js assembles every incoming message in a fresh buffer. An Envoy on SotW repeats its whole
// EDS subscription (thousands of names, ~150 KB at 3,200 clusters) in every EDS request and ACK,
// so an endpoint change makes every such proxy send one: fresh memory by the hundred megabytes,
// garbage that waits for the collector (the peak RSS of the load benchmark was reached there),
// and page faults (on the development VM 20x the cost of copying into reused memory).
//
// Large messages of server calls are therefore assembled in pooled buffers. The xDS request
// readers take what they keep out of a request (copying it) and then hand the buffer back with
// `releaseRequestBuffer`; a buffer nobody hands back is left to the collector as before, so
// other services are unaffected. grpc-js has no hook for this: the server call's
// `handleDataFrame` is wrapped to give each call this decoder before its first frame. With a
// grpc-js whose call lacks what this needs, nothing is wrapped (a test pins it for the grpc-js in
// package-lock.json).
import * as serverInterceptors from '@grpc/grpc-js/build/src/server-interceptors.js';

/** Messages from this size up to POOLED_MAX are assembled in pooled buffers; others as grpc-js does. */
const POOLED_MIN = 32 * 1024;
const POOLED_MAX = 4 * 1024 * 1024;
/** Pooled buffers come in multiples of this; requests of one kind (an EDS subscription) share a class. */
const CLASS_STEP = 64 * 1024;
/** Free buffers kept per size class, and in all: what the pool holds back is bounded. */
const FREE_PER_CLASS = 4;
const FREE_BYTES = 16 * 1024 * 1024;

const free = new Map<number, ArrayBuffer[]>();
let freeBytes = 0;
/** Buffers handed out and not yet back: only these may be released (once). */
const lent = new WeakSet<ArrayBuffer>();

function sizeClass(n: number): number {
  return Math.ceil(n / CLASS_STEP) * CLASS_STEP;
}

/** A buffer of exactly `n` bytes over pooled memory, owned by the caller until released. */
function borrow(n: number): Buffer {
  const size = sizeClass(n);
  const reused = free.get(size)?.pop();
  if (reused) freeBytes -= size;
  const memory = reused ?? new ArrayBuffer(size);
  lent.add(memory);
  return Buffer.from(memory, 0, n);
}

/**
 * Gives back the memory under `bytes` (any view of a buffer this module assembled), for the next
 * message. The caller must hold no view of it afterwards; other buffers are ignored.
 */
export function releaseRequestBuffer(bytes: Uint8Array): void {
  const memory = bytes.buffer as ArrayBuffer;
  if (!lent.has(memory)) return;
  lent.delete(memory);
  const list = free.get(memory.byteLength) ?? [];
  if (list.length >= FREE_PER_CLASS || freeBytes + memory.byteLength > FREE_BYTES) return;
  list.push(memory);
  freeBytes += memory.byteLength;
  free.set(memory.byteLength, list);
}

/**
 * grpc-js's StreamDecoder contract: `write` takes the bytes of DATA frames as they come and
 * returns each complete message framed (compression flag, 4-byte big-endian length, message).
 * A large message's pieces are kept as they arrive and copied into a pooled buffer only once all
 * are there: thousands of proxies send at once, and a buffer lent per message still arriving
 * would be thousands of buffers lent at a time, most of them never reused.
 */
export class PooledStreamDecoder {
  private readonly header = Buffer.alloc(5);
  private headerRead = 0;
  private parts: Buffer[] = [];
  /** Bytes of the current message still to come; -1 while reading a header. */
  private remaining = -1;
  private size = 0;
  /** A message over the limit ends the stream's decoding, as in grpc-js: every later write fails too. */
  private failed: Error | undefined;

  constructor(private readonly maxReadMessageLength: number) {}

  write(data: Buffer): Buffer[] {
    if (this.failed) throw this.failed;
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < data.length || this.remaining === 0) {
      if (this.remaining < 0) {
        while (this.headerRead < 5 && pos < data.length) this.header[this.headerRead++] = data[pos++]!;
        if (this.headerRead < 5) break;
        this.headerRead = 0;
        this.size = this.header.readUInt32BE(1);
        if (this.maxReadMessageLength !== -1 && this.size > this.maxReadMessageLength) {
          throw (this.failed = new Error(`Received message larger than max (${this.size} vs ${this.maxReadMessageLength})`));
        }
        this.remaining = this.size;
        continue;
      }
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, data.length - pos);
        this.parts.push(data.subarray(pos, pos + n));
        this.remaining -= n;
        pos += n;
      }
      if (this.remaining === 0) {
        out.push(this.assemble());
        this.remaining = -1;
      }
    }
    return out;
  }

  private assemble(): Buffer {
    const framed = this.size >= POOLED_MIN && this.size <= POOLED_MAX ? borrow(this.size + 5) : Buffer.allocUnsafe(this.size + 5);
    this.header.copy(framed, 0, 0, 5);
    let at = 5;
    for (const p of this.parts) {
      p.copy(framed, at);
      at += p.length;
    }
    this.parts = [];
    return framed;
  }
}

interface ServerCall {
  /** grpc-js's decoder: `readState` 0 (NO_DATA) while it holds no bytes of a message. */
  decoder?: { readState?: number } | PooledStreamDecoder;
  maxReceiveMessageSize?: number;
}

let installed: boolean | undefined;

/** Makes grpc-js server calls assemble requests with PooledStreamDecoder. Idempotent. */
export function installPooledRequests(): boolean {
  if (installed !== undefined) return installed;
  const proto = (serverInterceptors as unknown as { BaseServerInterceptingCall?: { prototype: { handleDataFrame?: (this: ServerCall, data: Buffer) => void } } }).BaseServerInterceptingCall?.prototype;
  const original = proto?.handleDataFrame;
  if (!proto || typeof original !== 'function') return (installed = false);
  proto.handleDataFrame = function (this: ServerCall, data: Buffer): void {
    // Swapped only while grpc-js's decoder holds nothing (before the call's first frame, unless
    // this was installed in the middle of a message).
    const own = this.decoder;
    if (own && !(own instanceof PooledStreamDecoder) && own.readState === 0 && typeof this.maxReceiveMessageSize === 'number') this.decoder = new PooledStreamDecoder(this.maxReceiveMessageSize);
    original.call(this, data);
  };
  return (installed = true);
}
