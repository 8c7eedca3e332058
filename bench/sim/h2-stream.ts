// One gRPC stream over its own HTTP/2 connection (cleartext, prior knowledge), written for the
// load simulator. Node's HTTP/2 client costs several times what the server spends sending the
// same bytes (`npm run bench:transport`), and thousands of simulated proxies on the machine's
// two cores made the simulator, not isthmusd, the bottleneck of a cold start. This client does
// only what a streaming gRPC call needs: the connection preface and settings, one request
// stream, DATA frames both ways with flow control, PING and SETTINGS acknowledgements, and the
// frames that end a stream. Response header blocks are not decoded (nothing here reads them);
// trailers, RST_STREAM and GOAWAY end the stream with a reason.
import * as net from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;

const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

/** The only stream this client opens. */
const STREAM_ID = 1;
/** HTTP/2's initial window for both connection and streams, until settings say otherwise. */
const DEFAULT_WINDOW = 65_535;
const DEFAULT_MAX_FRAME = 16_384;

export interface GrpcStreamHandlers {
  /**
   * Bytes of the response stream (gRPC length-prefixed messages, split anywhere). `chunk` is a
   * view of a read buffer that the next read overwrites: copy what must outlive the call.
   */
  data(chunk: Buffer): void;
  /** A socket read was handled (all its `data` calls made): where a reader may decide to pause. */
  readDone?(): void;
  /** The stream ended (it never does normally: ADS streams are long-lived). Called once. */
  closed(reason: string): void;
}

export interface GrpcStreamOptions {
  /** Receive window of the connection and the stream (bytes in flight from the server). */
  window: number;
  /** Request headers besides the pseudo-headers and content-type. */
  headers: Record<string, string>;
}

/**
 * Every stream of a process reads into this one buffer (Node's `onread`): with a fresh buffer per
 * read, as sockets have by default, a cold start reads gigabytes into new memory, paying page
 * faults and collections. Each read is handled before the next, so nothing may keep views of it.
 */
const READ_BUFFER_BYTES = 256 * 1024;
let sharedReadBuffer: Buffer | undefined;

function readBuffer(): Buffer {
  return (sharedReadBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES));
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return h;
}

/** HPACK integer with an N-bit prefix; `flags` are the first byte's bits above the prefix. */
function hpackInt(out: number[], value: number, prefixBits: number, flags: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** HPACK string literal, not Huffman-coded. */
function hpackString(out: number[], s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  hpackInt(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/** Static table indexes (RFC 7541, appendix A) of the names requests use. */
const STATIC_NAME: Record<string, number> = { ':authority': 1, ':path': 4, 'content-type': 31, 'user-agent': 58 };

/** A request header block: indexed `:method POST` and `:scheme http`, everything else literal without indexing. */
function requestHeaderBlock(authority: string, path: string, headers: Record<string, string>): Buffer {
  const out: number[] = [0x83, 0x86];
  const all: [string, string][] = [[':authority', authority], [':path', path], ['content-type', 'application/grpc'], ...Object.entries(headers)];
  for (const [name, value] of all) {
    const index = STATIC_NAME[name];
    if (index) hpackInt(out, index, 4, 0);
    else {
      out.push(0);
      hpackString(out, name);
    }
    hpackString(out, value);
  }
  return Buffer.from(out);
}

export class H2GrpcStream {
  private readonly socket: net.Socket;
  private done = false;
  /** The frame header being read, and how much of it arrived. */
  private readonly header = Buffer.alloc(9);
  private headerBytes = 0;
  /** The frame whose payload is arriving. */
  private current: { type: number; flags: number; stream: number; left: number; parts: Buffer[] } | undefined;
  private sendConnection = DEFAULT_WINDOW;
  private sendStream = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  /** Request bytes waiting for the server's flow-control window, and how many. */
  private readonly outgoing: Uint8Array[] = [];
  private outgoingBytes = 0;
  /** Received DATA bytes not yet given back with WINDOW_UPDATE. */
  private consumed = 0;

  constructor(
    addr: string,
    path: string,
    private readonly opts: GrpcStreamOptions,
    private readonly handlers: GrpcStreamHandlers,
  ) {
    const colon = addr.lastIndexOf(':');
    this.socket = net.connect({
      host: addr.slice(0, colon),
      port: Number(addr.slice(colon + 1)),
      onread: {
        buffer: readBuffer(),
        callback: (n: number, buf: Uint8Array) => {
          this.received(Buffer.from(buf.buffer, buf.byteOffset, n));
          if (!this.done) this.handlers.readDone?.();
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => this.close(`connection: ${err.message}`));
    this.socket.on('close', () => this.close('connection closed by the server'));
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(opts.window, 8);
    const block = requestHeaderBlock(addr, path, opts.headers);
    this.socket.cork();
    this.socket.write(PREFACE);
    this.socket.write(frameHeader(settings.length, SETTINGS, 0, 0));
    this.socket.write(settings);
    if (opts.window > DEFAULT_WINDOW) this.windowUpdate(0, opts.window - DEFAULT_WINDOW);
    this.socket.write(frameHeader(block.length, HEADERS, END_HEADERS, STREAM_ID));
    this.socket.write(block);
    this.socket.uncork();
  }

  /** Sends bytes on the request stream (gRPC frames), as the server's windows allow. */
  write(bytes: Uint8Array): void {
    this.writeAll([bytes]);
  }

  /** Sends several pieces in order; they are queued as they are (not copied). */
  writeAll(pieces: readonly Uint8Array[]): void {
    if (this.done) return;
    for (const p of pieces) {
      if (!p.length) continue;
      this.outgoing.push(p);
      this.outgoingBytes += p.length;
    }
    this.flush();
  }

  /** Stops reading the socket (what arrives waits in the kernel) until `resume`. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Ends the connection without a reason reported. */
  destroy(): void {
    this.done = true;
    this.socket.destroy();
  }

  private close(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.handlers.closed(reason);
  }

  private windowUpdate(stream: number, increment: number): void {
    const body = Buffer.allocUnsafe(4);
    body.writeUInt32BE(increment, 0);
    this.socket.write(frameHeader(4, WINDOW_UPDATE, 0, stream));
    this.socket.write(body);
  }

  /** Sends queued bytes in DATA frames as full as the windows and frame size allow, as gRPC clients do. */
  private flush(): void {
    this.socket.cork();
    while (this.outgoingBytes > 0) {
      const n = Math.min(this.sendConnection, this.sendStream, this.peerMaxFrame, this.outgoingBytes);
      if (n <= 0) break;
      this.socket.write(frameHeader(n, DATA, 0, STREAM_ID));
      for (let left = n; left > 0; ) {
        const head = this.outgoing[0]!;
        const part = Math.min(left, head.length);
        this.socket.write(head.subarray(0, part));
        if (part === head.length) this.outgoing.shift();
        else this.outgoing[0] = head.subarray(part);
        left -= part;
      }
      this.outgoingBytes -= n;
      this.sendConnection -= n;
      this.sendStream -= n;
    }
    this.socket.uncork();
  }

  /**
   * Parses frames as bytes arrive. DATA payloads of the stream go to the handler as views of
   * the received chunks (never copied here); other frames are small and are collected whole.
   */
  private received(chunk: Buffer): void {
    let pos = 0;
    while (!this.done && pos < chunk.length) {
      const f = this.current;
      if (!f) {
        // A frame header, possibly split across reads.
        // Byte by byte: Buffer#copy costs more per call than these 9 bytes, on every frame.
        const take = Math.min(9 - this.headerBytes, chunk.length - pos);
        for (let i = 0; i < take; i++) this.header[this.headerBytes + i] = chunk[pos + i]!;
        this.headerBytes += take;
        pos += take;
        if (this.headerBytes < 9) return;
        this.headerBytes = 0;
        const h = this.header;
        this.current = { type: h[3]!, flags: h[4]!, stream: h.readUInt32BE(5) & 0x7fffffff, left: h.readUIntBE(0, 3), parts: [] };
        if (this.current.left === 0) this.endFrame();
        continue;
      }
      const n = Math.min(f.left, chunk.length - pos);
      const piece = chunk.subarray(pos, pos + n);
      pos += n;
      f.left -= n;
      if (f.type === DATA && !(f.flags & PADDED)) {
        this.consumed += n;
        if (f.stream === STREAM_ID) this.handlers.data(piece);
      } else f.parts.push(Buffer.from(piece)); // small frames; the read buffer is reused
      if (f.left === 0) this.endFrame();
    }
  }

  private endFrame(): void {
    const f = this.current!;
    this.current = undefined;
    if (f.type === DATA && !(f.flags & PADDED)) return this.dataEnded(f.flags);
    this.frame(f.type, f.flags, f.stream, f.parts.length === 1 ? f.parts[0]! : Buffer.concat(f.parts));
  }

  /** After a DATA frame: end of stream, or give the window back once an eighth of it was used. */
  private dataEnded(flags: number): void {
    if (flags & END_STREAM) return this.close('stream ended by the server without trailers');
    if (this.consumed < this.opts.window / 8) return;
    this.socket.cork();
    this.windowUpdate(0, this.consumed);
    this.windowUpdate(STREAM_ID, this.consumed);
    this.socket.uncork();
    this.consumed = 0;
  }

  private frame(type: number, flags: number, stream: number, payload: Buffer): void {
    switch (type) {
      case DATA: {
        // Padded DATA (collected whole): the pad length byte and the padding are not data.
        this.consumed += payload.length;
        const body = payload.subarray(1, payload.length - payload[0]!);
        if (stream === STREAM_ID && body.length) this.handlers.data(body);
        return this.dataEnded(flags);
      }
      case HEADERS:
        // Response headers open the stream; headers that end it are trailers (a gRPC status).
        if (flags & END_STREAM) this.close('stream ended by the server (gRPC trailers)');
        return;
      case RST_STREAM:
        if (stream === STREAM_ID) this.close(`stream reset by the server (HTTP/2 error ${payload.length >= 4 ? payload.readUInt32BE(0) : 'unreadable'})`);
        return;
      case GOAWAY:
        this.close(`connection closed by the server (GOAWAY, HTTP/2 error ${payload.length >= 8 ? payload.readUInt32BE(4) : 'unreadable'})`);
        return;
      case SETTINGS:
        if (flags & ACK) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const id = payload.readUInt16BE(i);
          const value = payload.readUInt32BE(i + 2);
          if (id === SETTINGS_INITIAL_WINDOW_SIZE) {
            this.sendStream += value - this.peerInitialWindow;
            this.peerInitialWindow = value;
          } else if (id === SETTINGS_MAX_FRAME_SIZE) this.peerMaxFrame = value;
        }
        this.socket.write(frameHeader(0, SETTINGS, ACK, 0));
        this.flush();
        return;
      case PING:
        if (!(flags & ACK)) {
          this.socket.write(frameHeader(8, PING, ACK, 0));
          this.socket.write(payload); // already a copy (non-DATA frames are collected whole)
        }
        return;
      case WINDOW_UPDATE: {
        if (payload.length < 4) return this.close('malformed WINDOW_UPDATE from the server');
        const increment = payload.readUInt32BE(0) & 0x7fffffff;
        if (stream === 0) this.sendConnection += increment;
        else if (stream === STREAM_ID) this.sendStream += increment;
        this.flush();
        return;
      }
      default:
      // PRIORITY, PUSH_PROMISE (disabled), CONTINUATION of ignored header blocks: nothing to do.
    }
  }
}
