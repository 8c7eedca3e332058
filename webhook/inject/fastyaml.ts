// A fast path for the YAML injection templates render (and Kubernetes manifests usually are):
// block mappings and sequences, flow collections (also over several lines), plain, quoted and
// literal block scalars. Anything outside that subset — anchors, tags, folded or multi-line plain
// scalars, special numbers, dates, duplicate keys — returns undefined, and the caller parses with
// the full YAML library instead. Scalars resolve as YAML 1.1 does (`yes`/`on` are booleans,
// like sigs.k8s.io/yaml's yaml.v2), and only in forms whose reading is unambiguous.

class Fallback extends Error {}

const NULLS = new Set(['~', 'null', 'Null', 'NULL']);
const TRUES = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const FALSES = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);

/** The value of a plain scalar, or Fallback when its reading needs the full resolver. */
function plain(s: string): unknown {
  if (s === '' || NULLS.has(s)) return null;
  if (TRUES.has(s)) return true;
  if (FALSES.has(s)) return false;
  const c = s.charCodeAt(0);
  // starts like a number, sign or dot: only plain decimal forms are taken
  if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) {
    if (/^[-+]?(0|[1-9][0-9]*)$/.test(s)) {
      const n = Number(s);
      if (Number.isSafeInteger(n)) return n;
      throw new Fallback();
    }
    if (/^[-+]?(0|[1-9][0-9]*)\.[0-9]+$/.test(s)) return Number(s);
    // Numbers, dates and sexagesimals of YAML 1.1 use only these characters; anything else is text
    // ("100m", "128Mi", "15090,15021", "10.0.0.0/8"). The rest goes to the full resolver.
    if (/^[-+]?[0-9.]/.test(s) && /^[-+0-9._:xXoObBa-fA-FiInNtTzZ ]*$/.test(s)) throw new Fallback();
  }
  if (s === '<<' || s.startsWith('&') || s.startsWith('*') || s.startsWith('!') || s.startsWith('%') || s.startsWith('@') || s.startsWith('`')) {
    throw new Fallback();
  }
  if (s.startsWith('|') || s.startsWith('>') || s.startsWith('?')) throw new Fallback();
  return s;
}

function unescapeDouble(body: string): string {
  if (!body.includes('\\')) return body;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\') { out += ch; continue; }
    const e = body[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': case '\t': out += '\t'; break;
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'e': out += '\x1b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case ' ': out += ' '; break;
      case 'N': out += '\x85'; break;
      case '_': out += '\xa0'; break;
      case 'L': out += '\u2028'; break;
      case 'P': out += '\u2029'; break;
      case 'x': case 'u': case 'U': {
        const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new Fallback();
        out += String.fromCodePoint(Number.parseInt(hex, 16));
        i += len;
        break;
      }
      default: throw new Fallback();
    }
  }
  return out;
}

interface Line {
  indent: number;
  text: string; // without indentation, trailing spaces kept
  raw: string;
  no: number;
}

class Parser {
  private readonly lines: Line[];
  private i = 0;

  constructor(src: string) {
    const raw = src.split('\n');
    this.lines = raw.map((r, no) => {
      if (r.endsWith('\r')) r = r.slice(0, -1);
      let n = 0;
      while (n < r.length && r.charCodeAt(n) === 32) n++;
      if (r.charCodeAt(n) === 9 && r.slice(n).trim() !== '') throw new Fallback(); // tabs in indentation
      return { indent: n, text: r.slice(n), raw: r, no };
    });
  }

  private skipBlank(): void {
    while (this.i < this.lines.length) {
      const t = this.lines[this.i].text;
      if (t === '' || t.startsWith('#') || t.trim() === '') this.i++;
      else break;
    }
  }

  parseDocument(): unknown {
    this.skipBlank();
    if (this.i < this.lines.length && (this.lines[this.i].text.startsWith('---') || this.lines[this.i].text.startsWith('%'))) throw new Fallback();
    if (this.i >= this.lines.length) return null;
    const v = this.parseBlock();
    this.skipBlank();
    if (this.i < this.lines.length) throw new Fallback();
    return v;
  }

  /** A block node whose first line is at the current position. */
  private parseBlock(): unknown {
    const line = this.lines[this.i];
    if (line.text === '-' || line.text.startsWith('- ')) return this.parseSeq(line.indent);
    if (line.text.startsWith('{') || line.text.startsWith('[')) {
      const [v, rest] = this.parseFlowAt(this.i, line.indent);
      if (rest.trim() !== '' && !rest.trim().startsWith('#')) throw new Fallback();
      return v;
    }
    if (findMappingColon(line.text) >= 0) return this.parseMap(line.indent);
    // a lone scalar (document or nested)
    this.i++;
    return this.scalarValue(line.text);
  }

  private parseMap(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (true) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const line = this.lines[this.i];
      if (line.indent < indent) break;
      if (line.indent > indent) throw new Fallback();
      if (line.text === '-' || line.text.startsWith('- ')) break;
      const colon = findMappingColon(line.text);
      if (colon < 0) throw new Fallback();
      const key = this.key(line.text.slice(0, colon));
      if (Object.prototype.hasOwnProperty.call(out, key)) throw new Fallback();
      const rest = line.text.slice(colon + 1);
      out[key] = this.valueAfterIndicator(rest, indent, indent + colon + 1);
    }
    return out;
  }

  private key(k: string): string {
    const t = k.trimEnd();
    if (t.startsWith('"')) {
      if (!t.endsWith('"') || t.length < 2) throw new Fallback();
      return unescapeDouble(t.slice(1, -1));
    }
    if (t.startsWith("'")) {
      if (!t.endsWith("'") || t.length < 2) throw new Fallback();
      return t.slice(1, -1).replace(/''/g, "'");
    }
    const v = plain(t);
    if (typeof v !== 'string') throw new Fallback(); // non-string keys: let the full parser convert them
    return v;
  }

  /**
   * The value after `key:` or `-`: inline, or a nested block on the following lines. `parentIndent`
   * is the indentation of the mapping/sequence holding it; `restCol` the column where `rest` starts.
   */
  private valueAfterIndicator(rest: string, parentIndent: number, restCol: number, inSeq = false): unknown {
    const t = rest.trim();
    if (t === '' || t.startsWith('#')) {
      this.i++;
      this.skipBlank();
      if (this.i >= this.lines.length) return null;
      const next = this.lines[this.i];
      if (next.indent > parentIndent) return this.parseBlock();
      // "key:\n- item" at the same indentation is the key's sequence (not inside sequences)
      if (!inSeq && next.indent === parentIndent && (next.text === '-' || next.text.startsWith('- '))) return this.parseSeq(parentIndent);
      return null;
    }
    if (t.startsWith('|') || t.startsWith('>')) return this.blockScalar(t, parentIndent);
    if (t.startsWith('{') || t.startsWith('[')) {
      const [v, after] = this.parseFlowAt(this.i, restCol + (rest.length - rest.trimStart().length));
      if (after.trim() !== '' && !after.trim().startsWith('#')) throw new Fallback();
      return v;
    }
    this.i++;
    const v = this.scalarValue(t);
    // a plain scalar continued on the next lines is outside the fast path
    this.checkNoContinuation(parentIndent);
    return v;
  }

  private checkNoContinuation(parentIndent: number): void {
    let j = this.i;
    while (j < this.lines.length && (this.lines[j].text === '' || this.lines[j].text.trim() === '')) j++;
    if (j < this.lines.length) {
      const n = this.lines[j];
      if (n.indent > parentIndent && !n.text.startsWith('#')) throw new Fallback();
    }
  }

  private scalarValue(t: string): unknown {
    if (t.startsWith('"')) {
      const end = findClosingDouble(t);
      if (end < 0) throw new Fallback();
      const after = t.slice(end + 1).trim();
      if (after !== '' && !after.startsWith('#')) throw new Fallback();
      return unescapeDouble(t.slice(1, end));
    }
    if (t.startsWith("'")) {
      const end = findClosingSingle(t);
      if (end < 0) throw new Fallback();
      const after = t.slice(end + 1).trim();
      if (after !== '' && !after.startsWith('#')) throw new Fallback();
      return t.slice(1, end).replace(/''/g, "'");
    }
    const hash = t.indexOf(' #');
    const s = (hash >= 0 ? t.slice(0, hash) : t).trimEnd();
    if (s.includes(': ') || s.endsWith(':')) throw new Fallback();
    return plain(s);
  }

  private blockScalar(header: string, parentIndent: number): string {
    const m = /^\|([-+]?)([1-9]?)([-+]?)\s*(#.*)?$/.exec(header);
    if (!m) throw new Fallback();
    const chomp = m[1] || m[3];
    this.i++;
    let indent = m[2] ? parentIndent + Number(m[2]) : -1;
    const content: string[] = [];
    let j = this.i;
    for (; j < this.lines.length; j++) {
      const l = this.lines[j];
      if (l.raw.trim() === '') { content.push(l.raw); continue; }
      if (indent < 0) {
        if (l.indent <= parentIndent) break;
        indent = l.indent;
      }
      if (l.indent < indent) break;
      content.push(l.raw);
    }
    if (indent < 0) indent = parentIndent + 1;
    // trailing blank lines belong to chomping
    let end = content.length;
    while (end > 0 && content[end - 1].trim() === '') end--;
    const body = content.slice(0, end).map(l => (l.length >= indent ? l.slice(indent) : ''));
    for (const l of content.slice(0, end)) if (l.trim() === '' && l.length > indent) throw new Fallback();
    const trailing = content.length - end;
    this.i = j;
    let text = body.join('\n');
    if (chomp === '-') return text;
    if (body.length === 0) return chomp === '+' ? '\n'.repeat(trailing) : '';
    text += '\n';
    if (chomp === '+') text += '\n'.repeat(trailing);
    return text;
  }

  private parseSeq(indent: number): unknown[] {
    const out: unknown[] = [];
    while (true) {
      this.skipBlank();
      if (this.i >= this.lines.length) break;
      const line = this.lines[this.i];
      if (line.indent !== indent || !(line.text === '-' || line.text.startsWith('- '))) {
        if (line.indent > indent) throw new Fallback();
        break;
      }
      const rest = line.text.slice(1);
      const t = rest.trimStart();
      const col = indent + 1 + (rest.length - t.length);
      if (t.startsWith('- ') || t === '-') throw new Fallback(); // nested inline sequence
      if (t !== '' && !t.startsWith('#') && !t.startsWith('"') && !t.startsWith("'") && !t.startsWith('{') && !t.startsWith('[') &&
          findMappingColon(t) >= 0) {
        // "- key: value" starts a mapping at column `col`
        this.lines[this.i] = { indent: col, text: t, raw: line.raw, no: line.no };
        out.push(this.parseMap(col));
        continue;
      }
      out.push(this.valueAfterIndicator(rest, indent, indent + 1, true));
    }
    return out;
  }

  // ---- flow collections (possibly spanning lines) ----

  private parseFlowAt(lineIndex: number, col: number): [unknown, string] {
    // Build the text from this point to the end of the document, parse one flow node, then
    // resume block parsing on the line where it ended.
    const startLine = this.lines[lineIndex];
    const first = startLine.raw.slice(col);
    const rest = [first, ...this.lines.slice(lineIndex + 1).map(l => l.raw)].join('\n');
    const p = new FlowParser(rest);
    const v = p.node();
    const consumed = rest.slice(0, p.pos);
    const newlines = consumed.split('\n').length - 1;
    this.i = lineIndex + newlines + 1;
    const lastLineStart = consumed.lastIndexOf('\n') + 1;
    const endLine = rest.slice(lastLineStart).split('\n')[0];
    const after = endLine.slice(p.pos - lastLineStart);
    return [v, after];
  }
}

class FlowParser {
  pos = 0;
  constructor(private readonly s: string) {}

  private ws(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === ' ' || c === '\n' || c === '\t' || c === '\r') this.pos++;
      else if (c === '#' && (this.pos === 0 || /\s/.test(s[this.pos - 1]))) {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else break;
    }
  }

  node(): unknown {
    this.ws();
    const c = this.s[this.pos];
    if (c === '{') return this.map();
    if (c === '[') return this.seq();
    return this.scalar(true);
  }

  private map(): Record<string, unknown> {
    this.pos++;
    const out: Record<string, unknown> = {};
    while (true) {
      this.ws();
      if (this.s[this.pos] === '}') { this.pos++; return out; }
      if (this.pos >= this.s.length) throw new Fallback();
      const k = this.scalar(false);
      if (typeof k !== 'string') throw new Fallback();
      this.ws();
      let v: unknown = null;
      if (this.s[this.pos] === ':') {
        this.pos++;
        this.ws();
        const c = this.s[this.pos];
        v = c === ',' || c === '}' ? null : this.node();
      }
      if (Object.prototype.hasOwnProperty.call(out, k)) throw new Fallback();
      out[k] = v;
      this.ws();
      if (this.s[this.pos] === ',') { this.pos++; continue; }
      if (this.s[this.pos] === '}') { this.pos++; return out; }
      throw new Fallback();
    }
  }

  private seq(): unknown[] {
    this.pos++;
    const out: unknown[] = [];
    while (true) {
      this.ws();
      if (this.s[this.pos] === ']') { this.pos++; return out; }
      if (this.pos >= this.s.length) throw new Fallback();
      const v = this.node();
      this.ws();
      if (this.s[this.pos] === ':') throw new Fallback(); // single-pair mappings in sequences
      out.push(v);
      if (this.s[this.pos] === ',') { this.pos++; continue; }
      if (this.s[this.pos] === ']') { this.pos++; return out; }
      throw new Fallback();
    }
  }

  /** A scalar in flow context; `asValue` resolves plain scalars, keys stay text. */
  private scalar(asValue: boolean): unknown {
    const s = this.s;
    const c = s[this.pos];
    if (c === '"') {
      const end = findClosingDouble(s.slice(this.pos));
      if (end < 0) throw new Fallback();
      const body = s.slice(this.pos + 1, this.pos + end);
      if (body.includes('\n')) throw new Fallback();
      this.pos += end + 1;
      return unescapeDouble(body);
    }
    if (c === "'") {
      const end = findClosingSingle(s.slice(this.pos));
      if (end < 0) throw new Fallback();
      const body = s.slice(this.pos + 1, this.pos + end);
      if (body.includes('\n')) throw new Fallback();
      this.pos += end + 1;
      return body.replace(/''/g, "'");
    }
    const start = this.pos;
    while (this.pos < s.length) {
      const ch = s[this.pos];
      if (ch === ',' || ch === '}' || ch === ']' || ch === '[' || ch === '{' || ch === '\n') break;
      if (ch === ':' && (this.pos + 1 >= s.length || /[\s,}\]]/.test(s[this.pos + 1]))) break;
      if (ch === '#' && /\s/.test(s[this.pos - 1] ?? '')) break;
      this.pos++;
    }
    const text = s.slice(start, this.pos).trim();
    if (s[this.pos] === '\n') {
      // a plain scalar may continue on the next line in flow context: not on the fast path
      let j = this.pos;
      while (j < s.length && /\s/.test(s[j])) j++;
      if (j < s.length && !/[,}\]:#]/.test(s[j])) throw new Fallback();
    }
    if (text === '' && asValue) return null;
    if (text === '') throw new Fallback();
    if (!asValue) {
      const v = plain(text);
      if (typeof v !== 'string') throw new Fallback();
      return v;
    }
    return plain(text);
  }
}

/** Index of the `:` that makes a line a mapping entry (`key: value` or `key:`), or -1. */
function findMappingColon(t: string): number {
  if (t.startsWith('"') || t.startsWith("'")) {
    const end = t.startsWith('"') ? findClosingDouble(t) : findClosingSingle(t);
    if (end < 0) return -1;
    return t[end + 1] === ':' && (end + 2 >= t.length || t[end + 2] === ' ') ? end + 1 : -1;
  }
  if (t.startsWith('#') || t.startsWith('{') || t.startsWith('[')) return -1;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (c === '#' && i > 0 && t[i - 1] === ' ') return -1;
    if (c === ':' && (i + 1 >= t.length || t[i + 1] === ' ')) return i;
  }
  return -1;
}

function findClosingDouble(t: string): number {
  for (let i = 1; i < t.length; i++) {
    if (t[i] === '\\') { i++; continue; }
    if (t[i] === '"') return i;
  }
  return -1;
}

function findClosingSingle(t: string): number {
  for (let i = 1; i < t.length; i++) {
    if (t[i] === "'") {
      if (t[i + 1] === "'") { i++; continue; }
      return i;
    }
  }
  return -1;
}

/** Parses `text` if it stays within the fast subset; undefined means "use the full parser". */
export function parseYamlFast(text: string): unknown {
  try {
    return new Parser(text).parseDocument();
  } catch (e) {
    if (e instanceof Fallback) return undefined;
    throw e;
  }
}

const CROSSCHECK = process.env.ISTHMUS_YAML_CROSSCHECK === '1';

/**
 * YAML text to JSON as sigs.k8s.io/yaml reads it: the fast path when it applies, else `full`.
 * With ISTHMUS_YAML_CROSSCHECK=1 both run and must agree (a development check).
 */
export function parseYamlWith(text: string, full: (t: string) => unknown): unknown {
  const fast = parseYamlFast(text);
  if (fast === undefined) return full(text);
  if (CROSSCHECK) {
    const want = JSON.stringify(full(text) ?? null);
    const got = JSON.stringify(fast);
    if (want !== got && JSON.stringify(JSON.parse(want)) !== got) {
      throw new Error(`fast YAML parser disagrees:\n${text}\n--- fast: ${got}\n--- full: ${want}`);
    }
  }
  return fast;
}
