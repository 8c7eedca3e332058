// Protobuf wire constants and a minimal writer for the simulated proxies' requests (see
// xds-scan.ts for the reading side).

export const WT_VARINT = 0;
export const WT_I64 = 1;
export const WT_LEN = 2;
export const WT_I32 = 5;

/** Appends protobuf fields to a list of chunks; `finish` concatenates them once. */
export class Writer {
  private readonly chunks: Uint8Array[] = [];
  private scratch: number[] = [];
  length = 0;

  private flushScratch(): void {
    if (!this.scratch.length) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.length += this.scratch.length;
    this.scratch = [];
  }

  private varint(v: number): void {
    while (v > 0x7f) {
      this.scratch.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.scratch.push(v);
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint(field * 8 + WT_LEN);
    this.varint(value.length);
    this.flushScratch();
    this.chunks.push(value);
    this.length += value.length;
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** Pre-encoded fields (for example a cached `repeated string` block). */
  raw(encoded: Uint8Array): this {
    this.flushScratch();
    this.chunks.push(encoded);
    this.length += encoded.length;
    return this;
  }

  finish(): Buffer {
    this.flushScratch();
    return Buffer.concat(this.chunks, this.length);
  }

  /**
   * The message as one gRPC frame, in chunks: the 5-byte prefix and small fields together, large
   * ones (a cached `repeated string` block of thousands of names) as they are. A request that
   * repeats a subscription then costs no fresh memory, which page faults make dear.
   */
  grpcFrameChunks(): Uint8Array[] {
    this.flushScratch();
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(this.length, 1);
    const out: Uint8Array[] = [];
    let small: Uint8Array[] = [prefix];
    const flushSmall = () => {
      if (small.length) out.push(small.length === 1 ? small[0]! : Buffer.concat(small));
      small = [];
    };
    for (const c of this.chunks) {
      if (c.length >= 1024) {
        flushSmall();
        out.push(c);
      } else small.push(c);
    }
    flushSmall();
    return out;
  }
}

/** `repeated string` field `field` holding `values`, encoded once. */
export function encodeStrings(field: number, values: readonly string[]): Buffer {
  const w = new Writer();
  for (const v of values) w.string(field, v);
  return w.finish();
}

/** gRPC's length-prefixed framing of one message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(message.length + 5);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}
