// Memory for responses that span several reads, shared by one worker's proxies, and a bound on
// how much of it responses still arriving may hold.
//
// Reads come in one reused buffer (h2-stream.ts), so a response still arriving is copied out as
// it comes. A worker reads a thousand sockets: when it falls behind, each socket holds the start
// of a response, and a buffer the size of each response left up to a gigabyte of half-received
// responses in one worker. Fresh memory costs page faults on this VM (first touch of 600 MB took
// 2.5 s), and the simulator shares the two cores with isthmusd, so what it spends slows what it
// measures. So a response in progress holds only the blocks its bytes so far fill, blocks come
// back to a pool that stays warm, and a whole response is put together in one buffer that the
// worker reuses (responses are handled synchronously, one at a time). Past `maxPartialBytes`,
// a proxy with no response half-read stops reading until the responses in progress are
// complete; its bytes wait in the kernel, as they would for a busy Envoy. (isthmusd counts what
// it wrote to such a proxy against its send budget until the socket takes it, so pausing slows
// its pushes too; the bound is set so that full-size runs have not needed it.)

/** Size of the blocks partial responses are kept in. */
export const BLOCK_BYTES = 64 * 1024;

export interface MessageMemoryOptions {
  /** What the pool keeps for reuse at most; beyond it, returned blocks are left to the collector. */
  maxFreeBytes: number;
  /** Bytes in blocks beyond which readers without a response in progress pause. */
  maxPartialBytes: number;
}

const DEFAULTS: MessageMemoryOptions = { maxFreeBytes: 256 << 20, maxPartialBytes: 64 << 20 };

/** A response being received: its length and the blocks holding what arrived of it. */
export interface PartialMessage {
  readonly length: number;
  filled: number;
  readonly blocks: Buffer[];
}

export class MessageMemory {
  private readonly free: Buffer[] = [];
  private lent = 0;
  private whole = Buffer.alloc(0);
  /** Readers paused by `parkIfBusy`, resumed together once enough blocks are back. */
  private parked: (() => void)[] = [];
  private readonly opts: MessageMemoryOptions;
  /** What this memory cost: bytes allocated (not reused), the most held in blocks at once, readers paused. */
  readonly stats = { allocatedBytes: 0, maxLentBytes: 0, pauses: 0 };

  constructor(opts: Partial<MessageMemoryOptions> = {}) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  get lentBytes(): number {
    return this.lent;
  }

  start(length: number): PartialMessage {
    return { length, filled: 0, blocks: [] };
  }

  /** Copies `src[from, to)` onto the end of `m` (no further than its length). Returns the bytes taken. */
  append(m: PartialMessage, src: Buffer, from: number, to: number): number {
    const want = Math.min(m.length - m.filled, to - from);
    let done = 0;
    while (done < want) {
      const offset = m.filled % BLOCK_BYTES;
      if (offset === 0) m.blocks.push(this.takeBlock());
      const n = Math.min(want - done, BLOCK_BYTES - offset);
      src.copy(m.blocks[m.blocks.length - 1]!, offset, from + done, from + done + n);
      done += n;
      m.filled += n;
    }
    return done;
  }

  /**
   * The bytes of a complete message, contiguous. Valid until the next call: a one-block message
   * is a view of its block, a larger one is copied into a buffer the worker reuses (it keeps the
   * size of the largest response so far).
   */
  contents(m: PartialMessage): Buffer {
    if (m.blocks.length === 1) return m.blocks[0]!.subarray(0, m.length);
    if (this.whole.length < m.length) {
      this.whole = Buffer.allocUnsafeSlow(Math.ceil(m.length * 1.25));
      this.stats.allocatedBytes += this.whole.length;
    }
    m.blocks.forEach((b, i) => b.copy(this.whole, i * BLOCK_BYTES, 0, Math.min(BLOCK_BYTES, m.length - i * BLOCK_BYTES)));
    return this.whole.subarray(0, m.length);
  }

  /** Gives a message's blocks back (complete or abandoned); it must not be used after. */
  release(m: PartialMessage): void {
    for (const b of m.blocks) {
      this.lent -= b.length;
      if (this.free.length * BLOCK_BYTES < this.opts.maxFreeBytes) this.free.push(b);
    }
    m.blocks.length = 0;
    // Resume once half the bound is free again, so readers do not pause and resume per response.
    if (this.parked.length && this.lent <= this.opts.maxPartialBytes / 2) {
      const parked = this.parked;
      this.parked = [];
      for (const resume of parked) resume();
    }
  }

  /**
   * For a reader with no response in progress, after a read: when too much is held, pauses it
   * (`pause`) and returns true; `resume` is called once enough comes back.
   */
  parkIfBusy(pause: () => void, resume: () => void): boolean {
    // While some wait, newcomers wait too: else those that paused first could wait indefinitely.
    if (this.lent <= this.opts.maxPartialBytes && this.parked.length === 0) return false;
    pause();
    this.stats.pauses++;
    this.parked.push(resume);
    return true;
  }

  private takeBlock(): Buffer {
    let b = this.free.pop();
    if (!b) {
      b = Buffer.allocUnsafeSlow(BLOCK_BYTES);
      this.stats.allocatedBytes += BLOCK_BYTES;
    }
    this.lent += BLOCK_BYTES;
    if (this.lent > this.stats.maxLentBytes) this.stats.maxLentBytes = this.lent;
    return b;
  }
}
