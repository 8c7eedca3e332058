// What a simulated proxy must learn from xDS responses, read straight from the wire: response
// envelopes (SotW and Delta), the RDS names listeners reference, the clusters routes reference
// and the EDS names of clusters. Nothing else is decoded, and names are decoded only when they
// are new. What is derived from identical bytes is kept per worker (same-bytes.ts).
import { WT_I32, WT_I64, WT_LEN, WT_VARINT } from './wire.js';

export const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export interface Span {
  start: number;
  end: number;
}

/** Varint bits past 2^53 do not fit a double exactly; the scanner ignores them (no field it reads has them). */
const EXACT = 2 ** 53;

/** A cursor over protobuf fields in [pos, end): `next()` reads a tag, then `value*`/`skip` its value. */
class Fields {
  field = 0;
  wireType = 0;
  /** For LEN fields, the value's range after `next()`. */
  start = 0;
  end = 0;
  varint = 0;
  /** Where the current field (its tag) starts. */
  tagStart = 0;

  constructor(
    private readonly buf: Uint8Array,
    private pos: number,
    private readonly limit: number,
  ) {}

  private readVarint(): number {
    // Tags and lengths are almost always one byte. The rest multiplies by running powers of 128:
    // `2 ** shift` with a variable shift is a libm call, a measurable share of the simulator's
    // CPU (perf, cold start at 1,000 x 2,000).
    let b = this.buf[this.pos++]!;
    if (b < 0x80) return b;
    let v = b & 0x7f;
    let scale = 128;
    do {
      b = this.buf[this.pos++]!;
      if (scale < EXACT) v += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    return v;
  }

  next(): boolean {
    if (this.pos >= this.limit) return false;
    this.tagStart = this.pos;
    const tag = this.readVarint();
    this.field = Math.floor(tag / 8);
    this.wireType = tag & 7;
    switch (this.wireType) {
      case WT_VARINT:
        this.varint = this.readVarint();
        break;
      case WT_I64:
        this.pos += 8;
        break;
      case WT_I32:
        this.pos += 4;
        break;
      case WT_LEN: {
        const len = this.readVarint();
        this.start = this.pos;
        this.end = this.pos + len;
        this.pos = this.end;
        break;
      }
      default:
        throw new Error(`unsupported wire type ${this.wireType}`);
    }
    if (this.pos > this.limit) throw new Error('truncated protobuf message');
    return true;
  }

  /** Continues reading at `pos` (a field boundary). */
  seek(pos: number): void {
    this.pos = pos;
  }

  isLen(field: number): boolean {
    return this.field === field && this.wireType === WT_LEN;
  }
}

function str(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end);
}

function bytesEqual(buf: Uint8Array, a: number, b: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/** Type URL of an `Any` at [start, end) equals `url` (compared as bytes), and its value's span. */
function anyValue(buf: Buffer, start: number, end: number, url?: Buffer): Span | undefined {
  const f = new Fields(buf, start, end);
  let value: Span = { start: end, end };
  let typeOk = !url;
  while (f.next()) {
    if (f.isLen(1) && url) typeOk = f.end - f.start === url.length && buf.compare(url, 0, url.length, f.start, f.end) === 0;
    else if (f.isLen(2)) value = { start: f.start, end: f.end };
  }
  return typeOk ? value : undefined;
}

export interface Envelope {
  version: string;
  typeUrl: string;
  nonce: string;
  /** Each resource's whole field (tag, length and value), in order, after `skipped`. */
  resources: Span[];
  /** The leading run of resources `ReadOptions.skip` skipped. */
  skipped?: Span;
}

export interface ReadOptions {
  /** Whether the resources of a type are wanted (else only the envelope is read). */
  wants?: (typeUrl: string) => boolean;
  /** Called at the first resource's tag (with the type if read by then): where to continue (past resources known already), or that same position. */
  skip?: (start: number, typeUrl: string) => number;
}

/** The value of the length-delimited field spanning `field` (tag and length included). */
function fieldValue(buf: Buffer, field: Span): Span {
  const f = new Fields(buf, field.start, field.end);
  f.next();
  return { start: f.start, end: f.end };
}

/** Version, type URL, nonce and (Delta) removed names: the string fields of both responses that matter here. */
const STRING_FIELDS = new Set([1, 4, 5, 6]);

/**
 * Reads a response's top-level fields: the string fields that matter to `onString`, and resource
 * fields (number 2 in both SotW and Delta responses) as spans, skipping a known leading run as
 * `opts` says.
 */
function readEnvelope(buf: Buffer, opts: ReadOptions, onString: (field: number, value: string) => void): { resources: Span[]; skipped?: Span } {
  const out: { resources: Span[]; skipped?: Span } = { resources: [] };
  let typeUrl = '';
  let first = true;
  const f = new Fields(buf, 0, buf.length);
  while (f.next()) {
    if (f.wireType !== WT_LEN) continue;
    if (f.field !== 2) {
      if (!STRING_FIELDS.has(f.field)) continue;
      const value = str(buf, f.start, f.end);
      if (f.field === 4) typeUrl = value;
      onString(f.field, value);
      continue;
    }
    // Until the type is known every resource is kept (servers may write it after them).
    if (typeUrl && opts.wants && !opts.wants(typeUrl)) continue;
    if (first && opts.skip) {
      first = false;
      const to = opts.skip(f.tagStart, typeUrl);
      if (to > f.tagStart) {
        out.skipped = { start: f.tagStart, end: to };
        f.seek(to);
        continue;
      }
    }
    first = false;
    out.resources.push({ start: f.tagStart, end: f.end });
  }
  return out;
}

/** SotW response: the envelope and where each resource (`Any`) is. */
export function readSotwResponse(buf: Buffer, opts: ReadOptions = {}): Envelope {
  const r: Envelope = { version: '', typeUrl: '', nonce: '', resources: [] };
  Object.assign(
    r,
    readEnvelope(buf, opts, (field, value) => {
      if (field === 1) r.version = value;
      else if (field === 4) r.typeUrl = value;
      else if (field === 5) r.nonce = value;
    }),
  );
  return r;
}

/** The packed resource of a SotW resource field. */
export function sotwResource(buf: Buffer, field: Span): Span {
  const any = fieldValue(buf, field);
  return anyValue(buf, any.start, any.end)!;
}

export interface DeltaResource {
  /** Byte range of the name; decoded by the caller only if it needs it. */
  name: Span;
  value?: Span;
}

/** Delta response: the envelope, where each `Resource` is, and the removed names. */
export function readDeltaResponse(buf: Buffer, opts: ReadOptions = {}): Envelope & { removed: string[] } {
  const r = { version: '', typeUrl: '', nonce: '', resources: [] as Span[], removed: [] as string[] };
  Object.assign(
    r,
    readEnvelope(buf, opts, (field, value) => {
      if (field === 1) r.version = value;
      else if (field === 4) r.typeUrl = value;
      else if (field === 5) r.nonce = value;
      else if (field === 6) r.removed.push(value);
    }),
  );
  return r;
}

/** Name and packed resource of a Delta `Resource` field. */
export function deltaResource(buf: Buffer, field: Span): DeltaResource {
  const inner = fieldValue(buf, field);
  const res: DeltaResource = { name: { start: inner.end, end: inner.end } };
  const rf = new Fields(buf, inner.start, inner.end);
  while (rf.next()) {
    if (rf.isLen(3)) res.name = { start: rf.start, end: rf.end };
    else if (rf.isLen(2)) res.value = anyValue(buf, rf.start, rf.end);
  }
  return res;
}

/** Strings a worker has seen, kept once (thousands of proxies hold the same cluster names). */
const strings = new Map<string, string>();

export function internString(s: string): string {
  const known = strings.get(s);
  if (known !== undefined) return known;
  strings.set(s, s);
  return s;
}

/**
 * The EDS name of a Cluster (its `eds_cluster_config.service_name`, else its name) if it is an
 * EDS cluster; `name` gets the cluster name's span.
 */
export function clusterEdsSpan(buf: Buffer, span: Span, name?: Span): Span | undefined {
  let nameSpan: Span | undefined;
  let type = 0;
  let service: Span | undefined;
  const f = new Fields(buf, span.start, span.end);
  while (f.next()) {
    if (f.isLen(1)) nameSpan = { start: f.start, end: f.end };
    else if (f.field === 2 && f.wireType === WT_VARINT) type = f.varint;
    else if (f.isLen(3)) {
      const e = new Fields(buf, f.start, f.end);
      while (e.next()) if (e.isLen(2)) service = { start: e.start, end: e.end };
    }
  }
  if (name && nameSpan) {
    name.start = nameSpan.start;
    name.end = nameSpan.end;
  }
  // Cluster.DiscoveryType EDS = 3.
  if (type !== 3) return undefined;
  return service && service.end > service.start ? service : nameSpan;
}

/** Decodes a span, reusing `same` when the bytes equal those of `sameSpan` (Istio's EDS name is the cluster name). */
export function spanString(buf: Buffer, span: Span, same?: { span: Span; value: string }): string {
  const len = span.end - span.start;
  if (same && same.span.end - same.span.start === len && bytesEqual(buf, span.start, same.span.start, len)) return same.value;
  return internString(str(buf, span.start, span.end));
}

const HCM_URL = Buffer.from(HCM_TYPE);

function hcmRouteName(buf: Buffer, span: Span, out: Set<string>): void {
  const f = new Fields(buf, span.start, span.end);
  while (f.next()) {
    if (!f.isLen(3)) continue; // rds
    const r = new Fields(buf, f.start, f.end);
    while (r.next()) if (r.isLen(2)) out.add(internString(str(buf, r.start, r.end)));
  }
}

function filterChainRoutes(buf: Buffer, start: number, end: number, out: Set<string>): void {
  const f = new Fields(buf, start, end);
  while (f.next()) {
    if (!f.isLen(3)) continue; // filters
    const filter = new Fields(buf, f.start, f.end);
    while (filter.next()) {
      if (!filter.isLen(4)) continue; // typed_config
      const hcm = anyValue(buf, filter.start, filter.end, HCM_URL);
      if (hcm) hcmRouteName(buf, hcm, out);
    }
  }
}

/** RDS names a Listener references (filter chains, default chain, API listener). */
export function listenerRoutes(buf: Buffer, span: Span, out = new Set<string>()): Set<string> {
  const f = new Fields(buf, span.start, span.end);
  while (f.next()) {
    if (f.wireType !== WT_LEN) continue;
    if (f.field === 3 || f.field === 25) filterChainRoutes(buf, f.start, f.end, out);
    else if (f.field === 19) {
      const a = new Fields(buf, f.start, f.end);
      while (a.next()) {
        if (!a.isLen(1)) continue;
        const hcm = anyValue(buf, a.start, a.end, HCM_URL);
        if (hcm) hcmRouteName(buf, hcm, out);
      }
    }
  }
  return out;
}

/** Clusters a RouteConfiguration's routes send to (single and weighted). */
export function routeClusters(buf: Buffer, span: Span, out = new Set<string>()): Set<string> {
  const vhosts = new Fields(buf, span.start, span.end);
  while (vhosts.next()) {
    if (!vhosts.isLen(2)) continue;
    const routes = new Fields(buf, vhosts.start, vhosts.end);
    while (routes.next()) {
      if (!routes.isLen(3)) continue;
      const route = new Fields(buf, routes.start, routes.end);
      while (route.next()) {
        if (!route.isLen(2)) continue; // route action
        const action = new Fields(buf, route.start, route.end);
        while (action.next()) {
          if (action.isLen(1)) out.add(internString(str(buf, action.start, action.end)));
          else if (action.isLen(3)) {
            const weighted = new Fields(buf, action.start, action.end);
            while (weighted.next()) {
              if (!weighted.isLen(1)) continue;
              const cw = new Fields(buf, weighted.start, weighted.end);
              while (cw.next()) if (cw.isLen(1)) out.add(internString(str(buf, cw.start, cw.end)));
            }
          }
        }
      }
    }
  }
  return out;
}
