// Wire encoding of xDS responses straight from already packed resources, without intermediate
// messages. A response is planned when it is queued (its size is known) and written only when
// gRPC serializes it, into one reused buffer that gRPC copies into its frame at once: no buffer
// per response, and queued responses hold only references to shared resources.
//
// Responses are made of parts: resource lists shared by every proxy with the same view. A large
// part is encoded once into a block of repeated-field bytes (protobuf fields may come in any
// order and repeated fields concatenate), so a response to the thousandth proxy of a view is a
// few header fields and one memory copy per part instead of thousands of small writes.
import { createHash } from 'node:crypto';
import type { Any } from '@bufbuild/protobuf/wkt';
import type { NamedResource } from '../networking/generator.js';
import { FramePool, type SelfFraming } from './grpc-frames.js';

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

class Out {
  pos = 0;
  constructor(readonly buf: Buffer) {}

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
    this.buf.set(b, this.pos);
    this.pos += b.length;
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

/** Planned encoding of one part: its size now, its bytes when written. */
interface PartPlan {
  size: number;
  write(out: Out): void;
}

function sotwEntries(part: readonly NamedResource[]): PartPlan {
  const sizes = part.map((r) => anySize(r.resource));
  let size = 0;
  for (const s of sizes) size += fieldSize(s);
  return { size, write: (out) => part.forEach((r, i) => writeAny(out, 2, r.resource, sizes[i]!)) };
}

/** DeltaDiscoveryResponse.resources: Resource {version = content hash, resource, name}. */
function deltaEntries(part: readonly NamedResource[]): PartPlan {
  let size = 0;
  const items = part.map((r) => {
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

/** Parts this large are encoded once into a block and copied from it; smaller ones are written in place. */
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
  return { size: b.length, write: (out) => out.raw(b) };
}

function stringFields(fields: [number, string][]): { size: number; lens: number[] } {
  let size = 0;
  const lens = fields.map(([, s]) => {
    const n = Buffer.byteLength(s);
    if (s) size += fieldSize(n);
    return n;
  });
  return { size, lens };
}

/** Frames of responses in flight; each returns to the pool once written to its socket. */
const frames = new FramePool();

/** A response whose bytes are written only when gRPC serializes it. */
export class LazyResponse implements SelfFraming {
  private frame?: Buffer;

  constructor(
    readonly size: number,
    private readonly writeTo: (out: Out) => void,
  ) {}

  /** The gRPC frame (flag, length, message) in a pooled buffer, held until `written`. */
  grpcFrame(): Buffer {
    const frame = frames.take(this.size + 5);
    frame[0] = 0;
    frame.writeUInt32BE(this.size, 1);
    this.write(frame.subarray(5));
    this.frame = frame;
    return frame;
  }

  /** The frame reached the socket: its buffer may carry the next response. */
  written(): void {
    if (this.frame) frames.give(this.frame);
    this.frame = undefined;
  }

  /** Writes into `buf` (at least `size` bytes). */
  write(buf: Buffer): Buffer {
    const out = new Out(buf);
    this.writeTo(out);
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

/** Header strings first, then the parts, then trailing strings. */
function response(strings: [number, string][], parts: readonly (readonly NamedResource[])[], layout: Layout, trailing: [number, string][] = []): LazyResponse {
  const head = stringFields(strings);
  const tail = stringFields(trailing);
  const plans = parts.filter((p) => p.length).map((p) => planPart(p, layout));
  let total = head.size + tail.size;
  for (const p of plans) total += p.size;
  return new LazyResponse(total, (out) => {
    strings.forEach(([f, s], i) => s && out.string(f, s, head.lens[i]!));
    for (const p of plans) p.write(out);
    trailing.forEach(([f, s], i) => s && out.string(f, s, tail.lens[i]!));
  });
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
