// Wire encoding of xDS responses straight from already packed resources, without intermediate
// messages. A response is planned when it is queued (its size is known) and written only when
// gRPC frames it: queued responses hold only references to shared resources.
//
// Responses are made of parts: resource lists shared by every proxy with the same view. A large
// part is encoded once into a block of repeated-field bytes (protobuf fields may come in any
// order and repeated fields concatenate), so a response to the thousandth proxy of a view is a
// small buffer of its own fields with the shared blocks themselves between them (grpc-frames.ts);
// a large resource in a small part is passed on the same way.
import { createHash } from 'node:crypto';
import type { Any } from '@bufbuild/protobuf/wkt';
import type { NamedResource } from '../networking/generator.js';
import type { SelfFraming } from './grpc-frames.js';

const hashes = new WeakMap<Any, string>();

/** Content hash of a packed resource (type URL and bytes), computed once per `Any` object. */
export function contentHash(resource: Any): string {
  let h = hashes.get(resource);
  if (h === undefined) {
    h = createHash('sha1').update(resource.typeUrl).update(resource.value).digest('base64url').slice(0, 16);
    hashes.set(resource, h);
  }
  return h;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Values this large go to the socket as they are (a chunk of the frame) instead of being copied. */
const CHUNK_MIN_BYTES = 8 * 1024;

/**
 * Writes protobuf fields into `buf`. When framing (`chunks` given), large byte values are not
 * copied: the bytes written so far and the value itself are appended to `chunks`, and writing
 * goes on in `buf`, which then needs room only for the copied bytes.
 */
class Out {
  pos = 0;
  /** Start of the bytes of `buf` not yet in `chunks`. */
  private mark = 0;
  constructor(
    readonly buf: Buffer,
    private readonly chunks?: Buffer[],
  ) {}

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  tag(field: number): void {
    this.varint(field * 8 + 2);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field);
    this.varint(b.length);
    this.raw(b);
  }

  raw(b: Uint8Array): void {
    if (this.chunks && b.length >= CHUNK_MIN_BYTES) return this.chunk(b);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Appends `b` as a chunk of its own (framing only). */
  chunk(b: Uint8Array): void {
    const chunks = this.chunks!;
    this.finish();
    if (b.length) chunks.push(Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length));
  }

  /** Appends the bytes written since the last chunk (framing only). */
  finish(): void {
    if (this.pos > this.mark) this.chunks!.push(this.buf.subarray(this.mark, this.pos));
    this.mark = this.pos;
  }

  string(field: number, s: string, byteLength: number): void {
    this.tag(field);
    this.varint(byteLength);
    this.pos += this.buf.write(s, this.pos, byteLength, 'utf8');
  }
}

/** Size of a length-delimited field (tag < 16) holding `len` bytes. */
function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** Type URLs are few: each is encoded once. */
const typeUrls = new Map<string, Buffer>();

function typeUrlBytes(url: string): Buffer {
  let b = typeUrls.get(url);
  if (!b) typeUrls.set(url, (b = Buffer.from(url, 'utf8')));
  return b;
}

function anySize(a: Any): number {
  return (a.typeUrl ? fieldSize(typeUrlBytes(a.typeUrl).length) : 0) + (a.value.length ? fieldSize(a.value.length) : 0);
}

function writeAny(out: Out, field: number, a: Any, size: number): void {
  out.tag(field);
  out.varint(size);
  if (a.typeUrl) out.bytes(1, typeUrlBytes(a.typeUrl));
  if (a.value.length) out.bytes(2, a.value);
}

/** How a part's resources are laid out in a response: repeated `Any` (SotW) or repeated `Resource` (Delta). */
type Layout = 'sotw' | 'delta';

/** Planned encoding of one piece of a response: its size now, its bytes when written. */
interface PartPlan {
  size: number;
  /** Bytes of it that framing sends as chunks of their own (see `Out`), not copied. */
  chunked: number;
  write(out: Out): void;
}

/** Bytes of a value that framing passes on as its own chunk. */
function chunkedSize(value: Uint8Array): number {
  return value.length >= CHUNK_MIN_BYTES ? value.length : 0;
}

function sotwEntries(part: readonly NamedResource[]): PartPlan {
  const sizes = part.map((r) => anySize(r.resource));
  let size = 0;
  let chunked = 0;
  part.forEach((r, i) => {
    size += fieldSize(sizes[i]!);
    chunked += chunkedSize(r.resource.value);
  });
  return { size, chunked, write: (out) => part.forEach((r, i) => writeAny(out, 2, r.resource, sizes[i]!)) };
}

/** DeltaDiscoveryResponse.resources: Resource {version = content hash, resource, name}. */
function deltaEntries(part: readonly NamedResource[]): PartPlan {
  let size = 0;
  let chunked = 0;
  const items = part.map((r) => {
    chunked += chunkedSize(r.resource.value);
    const version = contentHash(r.resource);
    const nameLen = Buffer.byteLength(r.name);
    const versionLen = Buffer.byteLength(version);
    const any = anySize(r.resource);
    const inner = (nameLen ? fieldSize(nameLen) : 0) + (versionLen ? fieldSize(versionLen) : 0) + fieldSize(any);
    size += fieldSize(inner);
    return { version, nameLen, versionLen, any, inner };
  });
  return {
    size,
    chunked,
    write: (out) =>
      part.forEach((r, i) => {
        const it = items[i]!;
        out.tag(2);
        out.varint(it.inner);
        if (it.versionLen) out.string(1, it.version, it.versionLen);
        writeAny(out, 2, r.resource, it.any);
        if (it.nameLen) out.string(3, r.name, it.nameLen);
      }),
  };
}

/** Parts with this many resources are encoded once into a block; smaller ones are written in place. */
const BLOCK_MIN_RESOURCES = 8;
const blocks: Record<Layout, WeakMap<readonly NamedResource[], Buffer>> = { sotw: new WeakMap(), delta: new WeakMap() };

function planPart(part: readonly NamedResource[], layout: Layout): PartPlan {
  const entries = layout === 'sotw' ? sotwEntries : deltaEntries;
  if (part.length < BLOCK_MIN_RESOURCES) return entries(part);
  let block = blocks[layout].get(part);
  if (!block) {
    const plan = entries(part);
    const out = new Out(Buffer.allocUnsafe(plan.size));
    plan.write(out);
    blocks[layout].set(part, (block = out.buf));
  }
  const b = block;
  return { size: b.length, chunked: chunkedSize(b), write: (out) => out.raw(b) };
}

/** A response whose bytes are written only when gRPC frames it. */
export class LazyResponse implements SelfFraming {
  readonly size: number;

  constructor(private readonly pieces: readonly PartPlan[]) {
    let size = 0;
    for (const p of pieces) size += p.size;
    this.size = size;
  }

  /**
   * The gRPC frame (flag, length, message) as chunks: this response's own fields in one small
   * buffer, with shared blocks and large resources between them as they are.
   */
  grpcFrame(): Buffer[] {
    let copied = 5 + this.size;
    for (const p of this.pieces) copied -= p.chunked;
    const chunks: Buffer[] = [];
    const out = new Out(Buffer.allocUnsafe(copied), chunks);
    out.buf[0] = 0;
    out.buf.writeUInt32BE(this.size, 1);
    out.pos = 5;
    for (const p of this.pieces) p.write(out);
    out.finish();
    let framed = 0;
    for (const c of chunks) framed += c.length;
    if (framed !== this.size + 5) throw new Error(`xDS response framing wrote ${framed - 5} bytes, planned ${this.size}`);
    return chunks;
  }

  /** Writes into `buf` (at least `size` bytes). */
  write(buf: Buffer): Buffer {
    const out = new Out(buf);
    for (const p of this.pieces) p.write(out);
    if (out.pos !== this.size) throw new Error(`xDS response encoding wrote ${out.pos} bytes, planned ${this.size}`);
    return buf.subarray(0, this.size);
  }

  toBuffer(): Buffer {
    return this.write(Buffer.allocUnsafe(this.size));
  }
}

const SCRATCH_MAX = 16 * 1024 * 1024;
let scratch = Buffer.allocUnsafe(0);

/**
 * The bytes of a response, valid until the next call: gRPC copies them into its frame
 * synchronously (its `serialize` then copy), so one buffer serves every response. Used only
 * where grpc-js could not be taught self-framing (see grpc-frames.ts).
 */
export function serializeResponse(r: LazyResponse): Buffer {
  if (r.size > SCRATCH_MAX) return r.toBuffer();
  if (scratch.length < r.size) scratch = Buffer.allocUnsafe(Math.min(SCRATCH_MAX, Math.max(r.size, 2 * scratch.length, 64 * 1024)));
  return r.write(scratch);
}

/** A length-delimited string field as a piece of a response. */
function stringPiece(field: number, s: string): PartPlan {
  const n = Buffer.byteLength(s);
  return { size: fieldSize(n), chunked: 0, write: (out) => out.string(field, s, n) };
}

/** Header strings first, then the parts, then trailing strings (empty strings are left out, as protobuf does). */
function response(strings: [number, string][], parts: readonly (readonly NamedResource[])[], layout: Layout, trailing: [number, string][] = []): LazyResponse {
  const fields = (list: [number, string][]) => list.filter(([, s]) => s).map(([f, s]) => stringPiece(f, s));
  return new LazyResponse([...fields(strings), ...parts.filter((p) => p.length).map((p) => planPart(p, layout)), ...fields(trailing)]);
}

/** envoy.service.discovery.v3.DiscoveryResponse {version_info, resources, type_url, nonce}. */
export function discoveryResponse(typeUrl: string, versionInfo: string, nonce: string, parts: readonly (readonly NamedResource[])[]): LazyResponse {
  return response(
    [
      [1, versionInfo],
      [4, typeUrl],
      [5, nonce],
    ],
    parts,
    'sotw',
  );
}

/**
 * envoy.service.discovery.v3.DeltaDiscoveryResponse {system_version_info, resources, type_url,
 * nonce, removed_resources}; each resource as {name, version (its content hash), resource}.
 */
export function deltaDiscoveryResponse(typeUrl: string, systemVersionInfo: string, nonce: string, parts: readonly (readonly NamedResource[])[], removed: readonly string[]): LazyResponse {
  return response(
    [
      [1, systemVersionInfo],
      [4, typeUrl],
      [5, nonce],
    ],
    parts,
    'delta',
    removed.map((n): [number, string] => [6, n]),
  );
}
