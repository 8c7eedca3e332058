// xDS requests read from the wire. An Envoy SotW ACK repeats every name it subscribes to
// (thousands of EDS clusters), and the first request of every proxy of a view carries the same
// list; decoding them into strings for each request of each proxy was most of an endpoint push's
// cost. Here the names stay bytes until they are needed and differ from what was seen before;
// everything unusual (NACKs, initial versions, resource locators) goes through the full decoder.
import { fromBinary } from '@bufbuild/protobuf';
import { NodeSchema, type Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema, type DeltaDiscoveryRequest, type DiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';

export interface SotwRequest {
  /**
   * The whole encoded request. `namesBytes` is a view of it; nothing else of the request is
   * (the node is decoded from a copy), so once the names are read the server may reuse its
   * memory (grpc-requests.ts).
   */
  bytes: Buffer;
  versionInfo: string;
  node?: Node;
  typeUrl: string;
  responseNonce: string;
  errorDetail?: { message: string };
  /** The encoded `resource_names` fields, for comparing subscriptions without decoding them. */
  namesBytes: Buffer;
  /** The names, decoded on first use. */
  readonly resourceNames: readonly string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NO_BYTES = Buffer.alloc(0);

/** A read position in a message; reading past its end throws. */
class Cursor {
  pos = 0;
  constructor(readonly b: Buffer) {}

  varint(): number {
    let value = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.b.length) throw new Error('truncated varint');
      const byte = this.b[this.pos++]!;
      value += (byte & 0x7f) * shift;
      if (byte < 0x80) return value;
      shift *= 128;
    }
    throw new Error('varint too long');
  }

  /** Skips a length-delimited value; returns its end. */
  skipBytes(): number {
    const len = this.varint();
    return this.skipBytesFrom(this.pos, len);
  }

  /** Moves past `len` bytes starting at `start` (the current position); returns their end. */
  skipBytesFrom(start: number, len: number): number {
    const end = start + len;
    if (end > this.b.length) throw new Error('truncated field');
    this.pos = end;
    return end;
  }
}

/** Length-delimited `resource_names` entries of `bytes` (each a tag, a length and the name). */
function decodeNames(bytes: Buffer): string[] {
  const out: string[] = [];
  const c = new Cursor(bytes);
  while (c.pos < bytes.length) {
    c.varint();
    const len = c.varint();
    const start = c.pos;
    out.push(utf8.decode(bytes.subarray(start, c.skipBytesFrom(start, len))));
  }
  return out;
}

function fromFull(bytes: Buffer, req: DiscoveryRequest): SotwRequest {
  return {
    bytes,
    versionInfo: req.versionInfo,
    node: req.node,
    typeUrl: req.typeUrl,
    responseNonce: req.responseNonce,
    errorDetail: req.errorDetail ? { message: req.errorDetail.message } : undefined,
    namesBytes: NO_BYTES,
    resourceNames: req.resourceNames,
  };
}

/**
 * Calls `take` with the value of each length-delimited field of `b` that `fields` lists (by field
 * number), and once with the whole run of consecutive entries of the `repeated` field (from its
 * first tag to its last value's end). Returns false, for the full decoder, on any other field or
 * wire type or when `take` does. Throws on malformed input.
 */
function walkFields(b: Buffer, fields: readonly boolean[], repeated: number, take: (field: number, start: number, end: number) => boolean): boolean {
  const c = new Cursor(b);
  while (c.pos < b.length) {
    const fieldStart = c.pos;
    const tag = c.varint();
    const field = Math.floor(tag / 8);
    if ((tag & 7) !== 2 || !fields[field]) return false;
    if (field === repeated) {
      // Thousands of names: read in one tight loop, reported as one run.
      let end = c.skipBytes();
      while (c.pos < b.length) {
        const next = c.pos;
        if (c.varint() !== tag) {
          c.pos = next;
          break;
        }
        end = c.skipBytes();
      }
      if (!take(field, fieldStart, end)) return false;
      continue;
    }
    const len = c.varint();
    const start = c.pos;
    const end = c.skipBytesFrom(start, len);
    if (!take(field, start, end)) return false;
  }
  return true;
}

/** Where the entries of one repeated string field are; encoders write them together. */
class RepeatedBytes {
  private start = -1;
  private end = -1;

  /** Adds a run of entries; false if there was one before (the full decoder takes those). */
  add(start: number, end: number): boolean {
    if (this.start >= 0) return false;
    [this.start, this.end] = [start, end];
    return true;
  }

  bytes(b: Buffer): Buffer {
    return this.start < 0 ? NO_BYTES : b.subarray(this.start, this.end);
  }
}

/** The fields of a DiscoveryRequest this reader takes: version, node, names, type, nonce. */
const SOTW_FIELDS = [false, true, true, true, true, true];

/** Reads a DiscoveryRequest; names stay encoded unless asked for. Throws on malformed input. */
export function readSotwRequest(b: Buffer): SotwRequest {
  let versionInfo = '';
  let typeUrl = '';
  let responseNonce = '';
  let node: Node | undefined;
  const names = new RepeatedBytes();
  const read = walkFields(b, SOTW_FIELDS, 3, (field, start, end) => {
    if (field === 3) return names.add(start, end);
    const value = b.subarray(start, end);
    if (field === 1) versionInfo = utf8.decode(value);
    else if (field === 2) node = fromBinary(NodeSchema, Buffer.from(value));
    else if (field === 4) typeUrl = utf8.decode(value);
    else responseNonce = utf8.decode(value);
    return true;
  });
  // The full decoder keeps views of its input (unknown fields, Any values): it reads a copy.
  if (!read) return fromFull(b, fromBinary(DiscoveryRequestSchema, Buffer.from(b)));
  const namesBytes = names.bytes(b);
  let decoded: string[] | undefined;
  return {
    bytes: b,
    versionInfo,
    node,
    typeUrl,
    responseNonce,
    namesBytes,
    get resourceNames() {
      return (decoded ??= decodeNames(namesBytes));
    },
  };
}

export interface DeltaRequest {
  /** The whole encoded request; only `subscribeBytes` is a view of it (see SotwRequest.bytes). */
  bytes: Buffer;
  node?: Node;
  typeUrl: string;
  responseNonce: string;
  errorDetail?: { message: string };
  /** The encoded `resource_names_subscribe` fields. */
  subscribeBytes: Buffer;
  /** The subscribed names, decoded on first use. */
  readonly resourceNamesSubscribe: readonly string[];
  resourceNamesUnsubscribe: readonly string[];
  initialResourceVersions: Readonly<Record<string, string>>;
}

function fromFullDelta(bytes: Buffer, req: DeltaDiscoveryRequest): DeltaRequest {
  return {
    bytes,
    node: req.node,
    typeUrl: req.typeUrl,
    responseNonce: req.responseNonce,
    errorDetail: req.errorDetail ? { message: req.errorDetail.message } : undefined,
    subscribeBytes: NO_BYTES,
    resourceNamesSubscribe: req.resourceNamesSubscribe,
    resourceNamesUnsubscribe: req.resourceNamesUnsubscribe,
    initialResourceVersions: req.initialResourceVersions,
  };
}

/** The fields of a DeltaDiscoveryRequest this reader takes: node, type, subscribe, unsubscribe, nonce. */
const DELTA_FIELDS = [false, true, true, true, true, false, true];

/** Reads a DeltaDiscoveryRequest; subscribed names stay encoded unless asked for. Throws on malformed input. */
export function readDeltaRequest(b: Buffer): DeltaRequest {
  let typeUrl = '';
  let responseNonce = '';
  let node: Node | undefined;
  const unsubscribe: string[] = [];
  const subscribe = new RepeatedBytes();
  const read = walkFields(b, DELTA_FIELDS, 3, (field, start, end) => {
    if (field === 3) return subscribe.add(start, end);
    const value = b.subarray(start, end);
    if (field === 1) node = fromBinary(NodeSchema, Buffer.from(value));
    else if (field === 2) typeUrl = utf8.decode(value);
    else if (field === 4) unsubscribe.push(utf8.decode(value));
    else responseNonce = utf8.decode(value);
    return true;
  });
  if (!read) return fromFullDelta(b, fromBinary(DeltaDiscoveryRequestSchema, Buffer.from(b)));
  const subscribeBytes = subscribe.bytes(b);
  let names: string[] | undefined;
  return {
    bytes: b,
    node,
    typeUrl,
    responseNonce,
    subscribeBytes,
    get resourceNamesSubscribe() {
      return (names ??= decodeNames(subscribeBytes));
    },
    resourceNamesUnsubscribe: unsubscribe,
    initialResourceVersions: {},
  };
}
