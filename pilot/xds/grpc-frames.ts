// gRPC response framing without grpc-js's per-message copy.
//
// grpc-js frames each response by allocating a buffer of the message's size and copying the
// serialized message into it. For an xDS server that is the whole config of every proxy: several
// gigabytes of fresh memory during a cold start of a large mesh, which costs page faults, garbage
// collections and RSS that waits for the collector. Most of a response's bytes are blocks shared
// by every proxy with the same view (encode.ts), so a response that frames itself hands the
// HTTP/2 stream its frame as chunks: small buffers for its own fields and the shared blocks as
// they are. Node's HTTP/2 sends queued buffers without copying them, so a block goes from the
// cache to the socket once per proxy with no copy in between.
//
// grpc-js has no hook for it, so the server call's `serializeMessage` is wrapped: for a
// self-framing message it writes the leading chunks to the call's HTTP/2 stream itself and
// returns the last, which grpc-js writes with its completion callback (writes on a stream
// complete in order, so that callback means the whole frame was sent). Everything else goes
// through the original. With a grpc-js whose call lacks what this needs, nothing is wrapped and
// messages go through `serialize` as before (`installSelfFraming` returns which; a test pins it for the
// grpc-js in package-lock.json).
import * as serverInterceptors from '@grpc/grpc-js/build/src/server-interceptors.js';
import type { ServerHttp2Stream } from 'node:http2';

/** A message that writes its own gRPC frame: flag byte, 4-byte big-endian length, message. */
export interface SelfFraming {
  /** The frame as consecutive chunks, none empty (the first holds at least the 5-byte prefix). */
  grpcFrame(): Buffer[];
}

function isSelfFraming(m: unknown): m is SelfFraming {
  return typeof (m as Partial<SelfFraming> | null)?.grpcFrame === 'function';
}

type Serialize = (this: unknown, value: unknown) => Buffer;

/** What the wrapper uses of grpc-js's server call. */
interface ServerCall {
  stream?: ServerHttp2Stream;
  maybeSendMetadata(): void;
  /** `grpc.max_send_message_length` (-1: none). */
  maxSendMessageSize?: number;
}

let installed: boolean | undefined;

/** Makes grpc-js servers send self-framing messages as they frame themselves. Idempotent. */
export function installSelfFraming(): boolean {
  if (installed !== undefined) return installed;
  const proto = (serverInterceptors as unknown as { BaseServerInterceptingCall?: { prototype: { serializeMessage?: Serialize; maybeSendMetadata?: unknown } } }).BaseServerInterceptingCall?.prototype;
  const original = proto?.serializeMessage;
  if (!proto || typeof original !== 'function' || typeof proto.maybeSendMetadata !== 'function') return (installed = false);
  proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
    if (!isSelfFraming(value)) return original.call(this, value);
    const chunks = value.grpcFrame();
    const call = this as ServerCall;
    const stream = call.stream;
    const max = call.maxSendMessageSize ?? -1;
    // grpc-js checks the size of what this returns: a frame over the limit goes back whole,
    // unwritten, for grpc-js to refuse (RESOURCE_EXHAUSTED) instead of sending part of it.
    if (chunks.length === 1) return chunks[0]!;
    if (!stream || typeof stream.write !== 'function' || (max >= 0 && frameLength(chunks) - 5 > max)) return Buffer.concat(chunks);
    const last = chunks.pop()!;
    // Headers before data, as grpc-js would send them right after this returns.
    call.maybeSendMetadata();
    stream.cork();
    for (const c of chunks) stream.write(c);
    // grpc-js writes `last` synchronously after this returns; uncorking then hands the whole frame over at once.
    process.nextTick(() => stream.uncork());
    return last;
  };
  return (installed = true);
}

function frameLength(chunks: readonly Buffer[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}
