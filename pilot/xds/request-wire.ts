// State-of-the-World requests read from the wire. An Envoy ACK repeats every name it subscribes
// to (thousands of EDS clusters); decoding them into strings for each ACK of each proxy was most
// of an endpoint push's cost. Here the names stay bytes until they differ from what the stream
// sent before; everything unusual (NACKs, resource locators) goes through the full decoder.
import { fromBinary } from '@bufbuild/protobuf';
import { NodeSchema, type Node } from '../../gen/envoy/config/core/v3/base_pb.js';
import { DiscoveryRequestSchema, type DiscoveryRequest } from '../../gen/envoy/service/discovery/v3/discovery_pb.js';

export interface SotwRequest {
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

function readVarint(b: Buffer, pos: number): [value: number, next: number] {
  let value = 0;
  let shift = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) throw new Error('truncated varint');
    const byte = b[pos++]!;
    value += (byte & 0x7f) * shift;
    if (byte < 0x80) return [value, pos];
    shift *= 128;
  }
  throw new Error('varint too long');
}

/** Length-delimited `resource_names` entries of `bytes` (each a tag, a length and the name). */
function decodeNames(bytes: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const [, afterTag] = readVarint(bytes, pos);
    const [len, start] = readVarint(bytes, afterTag);
    out.push(utf8.decode(bytes.subarray(start, start + len)));
    pos = start + len;
  }
  return out;
}

function fromFull(req: DiscoveryRequest): SotwRequest {
  return {
    versionInfo: req.versionInfo,
    node: req.node,
    typeUrl: req.typeUrl,
    responseNonce: req.responseNonce,
    errorDetail: req.errorDetail ? { message: req.errorDetail.message } : undefined,
    namesBytes: NO_BYTES,
    resourceNames: req.resourceNames,
  };
}

/** Reads a DiscoveryRequest; names stay encoded unless asked for. Throws on malformed input. */
export function readSotwRequest(b: Buffer): SotwRequest {
  let versionInfo = '';
  let typeUrl = '';
  let responseNonce = '';
  let node: Node | undefined;
  let namesStart = -1;
  let namesEnd = -1;
  let pos = 0;
  while (pos < b.length) {
    const fieldStart = pos;
    const [tag, afterTag] = readVarint(b, pos);
    const field = Math.floor(tag / 8);
    // Every field this reader takes is length-delimited; anything else is rare enough for the full decoder.
    if ((tag & 7) !== 2 || field < 1 || field > 5) return fromFull(fromBinary(DiscoveryRequestSchema, b));
    const [len, start] = readVarint(b, afterTag);
    const end = start + len;
    if (end > b.length) throw new Error('truncated field');
    const value = b.subarray(start, end);
    switch (field) {
      case 1:
        versionInfo = utf8.decode(value);
        break;
      case 2:
        node = fromBinary(NodeSchema, value);
        break;
      case 3:
        // Encoders write a repeated field's entries together; anything else takes the full decoder.
        if (namesStart >= 0 && namesEnd !== fieldStart) return fromFull(fromBinary(DiscoveryRequestSchema, b));
        if (namesStart < 0) namesStart = fieldStart;
        namesEnd = end;
        break;
      case 4:
        typeUrl = utf8.decode(value);
        break;
      case 5:
        responseNonce = utf8.decode(value);
        break;
    }
    pos = end;
  }
  const namesBytes = namesStart < 0 ? NO_BYTES : b.subarray(namesStart, namesEnd);
  let names: string[] | undefined;
  return {
    versionInfo,
    node,
    typeUrl,
    responseNonce,
    namesBytes,
    get resourceNames() {
      return (names ??= decodeNames(namesBytes));
    },
  };
}
