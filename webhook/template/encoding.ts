// Go's encoding/json output (sorted map keys, HTML escaping, float format) and
// sigs.k8s.io/yaml's Marshal (JSON, then YAML with yaml.v2's conventions), over the value model.

import { Document, isScalar, parse as parseYaml, stringify as stringifyYaml, visit, type Pair } from 'yaml';
import { jsonFloat } from './floatfmt.js';
import { FuncError } from './errors.js';
import { compareBytes, isNilPointer, isStruct, kindOf, methodOf, sortedEntries, structFields, typeName } from './values.js';

export interface JsonOptions {
  escapeHTML?: boolean;
  indent?: string;
  /** Sort map keys as Go does (default); false keeps insertion order (protobuf JSON field order). */
  sortKeys?: boolean;
}

function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
    }
    if (cp < 0x20 || (escapeHTML && (ch === '<' || ch === '>' || ch === '&'))) {
      out += '\\u' + cp.toString(16).padStart(4, '0');
    } else if (cp === 0x2028 || cp === 0x2029) {
      out += '\\u' + cp.toString(16);
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\ufffd';
    } else out += ch;
  }
  return out + '"';
}

/** json.Marshal (or MarshalIndent with `indent`). Throws FuncError for unsupported values. */
export function toGoJson(v: unknown, opts: JsonOptions = {}): string {
  const escapeHTML = opts.escapeHTML ?? true;
  const ind = opts.indent;
  const enc = (x: unknown, depth: number, sortKeys: boolean): string => {
    const nl = (d: number): string => (ind === undefined ? '' : '\n' + ind.repeat(d));
    const colon = ind === undefined ? ':' : ': ';
    switch (kindOf(x)) {
      case 'invalid': case 'nil': return 'null';
      case 'bool': return x ? 'true' : 'false';
      case 'int': return (x as bigint).toString();
      case 'float': {
        const f = x as number;
        if (!Number.isFinite(f)) throw new FuncError(`json: unsupported value: ${Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'}`);
        return jsonFloat(f);
      }
      case 'string': return jsonString(x as string, escapeHTML);
      case 'func': throw new FuncError(`json: unsupported type: ${typeName(x)}`);
      case 'slice': {
        const arr = x as unknown[];
        if (arr.length === 0) return '[]';
        return '[' + arr.map(e => nl(depth + 1) + enc(e, depth + 1, sortKeys)).join(',') + nl(depth) + ']';
      }
      case 'map': case 'struct': {
        let entries: [unknown, unknown][];
        if (isStruct(x)) {
          if (isNilPointer(x)) return 'null';
          const toJSON = methodOf(x, 'toJSON');
          if (toJSON) return enc(toJSON(), depth, false);
          entries = structFields(x).filter(([, val]) => val !== undefined);
        } else if (sortKeys) {
          entries = sortedEntries(x as Record<string, unknown>).map(([k, val]) => [String(k), val] as [unknown, unknown]);
          entries.sort((a, b) => compareBytes(a[0] as string, b[0] as string));
        } else {
          entries = (x instanceof Map ? [...x.entries()] : Object.entries(x as object));
        }
        entries = entries.filter(([, val]) => val !== undefined);
        if (entries.length === 0) return '{}';
        return '{' + entries.map(([k, val]) =>
          nl(depth + 1) + jsonString(String(k), escapeHTML) + colon + enc(val, depth + 1, sortKeys)).join(',') + nl(depth) + '}';
      }
    }
  };
  return enc(v, 0, opts.sortKeys ?? true);
}

/** json.Unmarshal into interface{}: numbers become float64 (JS numbers). */
export function fromGoJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new FuncError(jsonSyntaxError(s, e));
  }
}

function jsonSyntaxError(s: string, e: unknown): string {
  if (s.trim() === '') return 'unexpected end of JSON input';
  return e instanceof Error ? e.message : String(e);
}

// ---- YAML ----

/** yaml.v2's ordering of map keys (a "natural" order: digit runs compare numerically). */
export function yamlKeyLess(a: string, b: string): boolean {
  const ar = [...a], br = [...b];
  const isLetter = (c: string): boolean => /\p{L}/u.test(c);
  const isDigit = (c: string | undefined): boolean => c !== undefined && /\p{Nd}/u.test(c);
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]), bl = isLetter(br[i]);
    if (al && bl) return ar[i] < br[i];
    if (al || bl) return bl;
    let an = 0, bn = 0;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') { an = 1; bn = 1; break; }
      }
    }
    let ai = i, bi = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + (ar[ai].charCodeAt(0) - 48);
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + (br[bi].charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i] < br[i];
  }
  return ar.length < br.length;
}

/** Whether a plain scalar `s` would read back as another type (null, bool, number, date...). */
function ambiguous(s: string): boolean {
  if (s === '') return true;
  if (s.startsWith('#') || s.trim() !== s) return false;
  for (const version of ['1.1', '1.2'] as const) {
    try {
      const v = parseYaml(s, { version }) as unknown;
      if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v instanceof Date) return true;
    } catch {
      // not a valid plain scalar: the stringifier quotes it anyway
    }
  }
  return false;
}

/**
 * sigs.k8s.io/yaml.Marshal: the value's JSON, re-encoded as YAML the way yaml.v2 prints it (keys
 * in yaml.v2's order, sequences not indented under their key, strings quoted only when needed,
 * multi-line strings as literal blocks). Ends with a newline, no document marker.
 */
export function toGoYaml(v: unknown): string {
  const text = toGoJson(v);
  const cached = yamlCache.get(text);
  if (cached !== undefined) return cached;
  const out = jsonToGoYaml(JSON.parse(text) as unknown);
  if (yamlCache.size >= 512) yamlCache.delete(yamlCache.keys().next().value as string);
  yamlCache.set(text, out);
  return out;
}

/** Recently printed values (templates print the same Values blocks for every pod). */
const yamlCache = new Map<string, string>();

function jsonToGoYaml(json: unknown): string {
  const doc = new Document(json, {
    version: '1.1',
    sortMapEntries: (a: Pair, b: Pair) => {
      const ka = isScalar(a.key) ? String(a.key.value) : String(a.key);
      const kb = isScalar(b.key) ? String(b.key.value) : String(b.key);
      return yamlKeyLess(ka, kb) ? -1 : yamlKeyLess(kb, ka) ? 1 : 0;
    },
  });
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string') {
        if (node.value.includes('\n')) node.type = 'BLOCK_LITERAL';
        else if (ambiguous(node.value)) node.type = 'QUOTE_DOUBLE';
        else if (/^['"]/.test(stringifyYaml(node.value, { lineWidth: 0 }))) {
          // yaml.v2 single-quotes what cannot be plain, unless it needs escapes
          node.type = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(node.value) ? 'QUOTE_DOUBLE' : 'QUOTE_SINGLE';
        }
      }
    },
  });
  return doc.toString({
    indentSeq: false,
    lineWidth: 0,
    minContentWidth: 0,
    nullStr: 'null',
    trueStr: 'true',
    falseStr: 'false',
    doubleQuotedMinMultiLineLength: 1e9,
  });
}

/** sigs.k8s.io/yaml.Unmarshal into interface{} (via JSON, so numbers are float64). */
export function fromGoYaml(s: string): unknown {
  const v = parseYaml(s, { version: '1.1', merge: true }) as unknown;
  return JSON.parse(JSON.stringify(v ?? null, (_k, x) => (typeof x === 'bigint' ? Number(x) : x))) as unknown;
}
