// gRPC response framing without grpc-js's per-message copy.
//
// grpc-js frames each response by allocating a buffer of the message's size and copying the
// serialized message into it. For an xDS server that is the whole config of every proxy: several
// gigabytes of fresh memory during a cold start of a large mesh, which costs page faults, garbage
// collections and RSS that waits for the collector. Messages that can frame themselves (the xDS
// server's responses, into pooled buffers it recycles once written) skip that step.
//
// grpc-js has no hook for it, so the server call's `serializeMessage` is wrapped. The wrapper only
// handles self-framing messages and calls the original for everything else; with a grpc-js that
// lacks the method nothing is wrapped and messages go through `serialize` as before (`installed`
// says which; a test pins it for the grpc-js in package-lock.json).
import * as serverInterceptors from '@grpc/grpc-js/build/src/server-interceptors.js';

/** A message that writes its own gRPC frame: flag byte, 4-byte big-endian length, message. */
export interface SelfFraming {
  grpcFrame(): Buffer;
}

function isSelfFraming(m: unknown): m is SelfFraming {
  return typeof (m as Partial<SelfFraming> | null)?.grpcFrame === 'function';
}

type Serialize = (this: unknown, value: unknown) => Buffer;

let installed: boolean | undefined;

/** Makes grpc-js servers send self-framing messages as they frame themselves. Idempotent. */
export function installSelfFraming(): boolean {
  if (installed !== undefined) return installed;
  const proto = (serverInterceptors as unknown as { BaseServerInterceptingCall?: { prototype: { serializeMessage?: Serialize } } }).BaseServerInterceptingCall?.prototype;
  const original = proto?.serializeMessage;
  if (!proto || typeof original !== 'function') return (installed = false);
  proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
    return isSelfFraming(value) ? value.grpcFrame() : original.call(this, value);
  };
  return (installed = true);
}

/** Whether self-framing messages bypass grpc-js's copy in this process. */
export function selfFramingInstalled(): boolean {
  return installed === true;
}

/**
 * Buffers for frames, by size class, reused once their write completed. Holds at
 * most `maxPooledBytes` of idle buffers; larger frames than `maxFrameBytes` are not pooled.
 */
export class FramePool {
  private readonly idle = new Map<number, Buffer[]>();
  private idleBytes = 0;

  constructor(
    private readonly maxPooledBytes = 16 * 1024 * 1024,
    private readonly maxFrameBytes = 16 * 1024 * 1024,
  ) {}

  /** Sizes in eighths of a power of two: a frame leaves at most a fifth of its buffer unused. */
  private static sizeClass(n: number): number {
    if (n <= 4096) return 4096;
    const step = 2 ** (Math.ceil(Math.log2(n)) - 3);
    return Math.ceil(n / step) * step;
  }

  /** A buffer of exactly `n` bytes (a view of a pooled one when `n` is poolable). */
  take(n: number): Buffer {
    if (n > this.maxFrameBytes) return Buffer.allocUnsafeSlow(n);
    const size = FramePool.sizeClass(n);
    const buf = this.idle.get(size)?.pop();
    if (buf) this.idleBytes -= size;
    return (buf ?? Buffer.allocUnsafeSlow(size)).subarray(0, n);
  }

  /** Returns a buffer from `take` whose bytes nobody reads any more. */
  give(view: Buffer): void {
    const buf = Buffer.from(view.buffer, 0, view.buffer.byteLength);
    const size = buf.length;
    if (view.byteOffset !== 0 || size !== FramePool.sizeClass(size) || size > FramePool.sizeClass(this.maxFrameBytes)) return;
    if (this.idleBytes + size > this.maxPooledBytes) return;
    let list = this.idle.get(size);
    if (!list) this.idle.set(size, (list = []));
    list.push(buf);
    this.idleBytes += size;
  }

  /** Idle bytes held (for tests and metrics). */
  get pooledBytes(): number {
    return this.idleBytes;
  }
}
