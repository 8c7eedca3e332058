// A syntax check for CEL expressions (Telemetry access-log filters), following the grammar of
// the CEL language definition. It parses only: names and types are resolved by the proxy.

type Token = { kind: 'ident' | 'number' | 'string' | 'op' | 'eof'; text: string; pos: number };

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '+', '-', '*', '/', '%', '!', '?', ':', '.', ',', '(', ')', '[', ']', '{', '}'];
const RESERVED = new Set(['as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

class CelSyntaxError extends Error {}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new CelSyntaxError(`Syntax error: ${msg} at position ${i}`);
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const start = i;
    // String and bytes literals, with optional r/b prefixes and triple quotes.
    const prefix = /^([rR][bB]?|[bB][rR]?)?(['"])/.exec(src.slice(i));
    if (prefix && (prefix[1] || c === '"' || c === "'")) {
      const raw = /r/i.test(prefix[1] ?? '');
      i += prefix[0].length;
      const quote = prefix[2]!;
      const triple = src.startsWith(quote.repeat(2), i);
      const close = triple ? quote.repeat(3) : quote;
      if (triple) i += 2;
      for (;;) {
        if (i >= src.length) fail('unterminated string');
        if (!triple && src[i] === '\n') fail('newline in string');
        if (!raw && src[i] === '\\') {
          i += 2;
          continue;
        }
        if (src.startsWith(close, i)) {
          i += close.length;
          break;
        }
        i++;
      }
      out.push({ kind: 'string', text: src.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const m = /^(0[xX][0-9a-fA-F]+[uU]?|[0-9]*\.[0-9]+([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+|[0-9]+[uU]?)/.exec(src.slice(i));
      if (!m) fail('bad number');
      i += m![0].length;
      out.push({ kind: 'number', text: m![0], pos: start });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      if (RESERVED.has(m[0])) fail(`reserved identifier: ${m[0]}`);
      out.push({ kind: 'ident', text: m[0], pos: start });
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) fail(`token recognition error at: '${c}'`);
    i += op!.length;
    out.push({ kind: 'op', text: op!, pos: start });
  }
  out.push({ kind: 'eof', text: '<EOF>', pos: src.length });
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.i]!;
  }
  private is(text: string): boolean {
    const t = this.peek();
    return (t.kind === 'op' || t.kind === 'ident') && t.text === text;
  }
  private next(): Token {
    return this.toks[this.i++]!;
  }
  private fail(): never {
    const t = this.peek();
    throw new CelSyntaxError(`Syntax error: mismatched input '${t.text}' at position ${t.pos}`);
  }
  private expect(text: string): void {
    if (!this.is(text)) this.fail();
    this.i++;
  }

  parse(): void {
    this.expr();
    if (this.peek().kind !== 'eof') this.fail();
  }

  private expr(): void {
    this.or();
    if (this.is('?')) {
      this.next();
      this.or();
      this.expect(':');
      this.expr();
    }
  }
  private or(): void {
    this.and();
    while (this.is('||')) {
      this.next();
      this.and();
    }
  }
  private and(): void {
    this.relation();
    while (this.is('&&')) {
      this.next();
      this.relation();
    }
  }
  private relation(): void {
    this.addition();
    while (['<', '<=', '>', '>=', '==', '!=', 'in'].some((o) => this.is(o))) {
      this.next();
      this.addition();
    }
  }
  private addition(): void {
    this.multiplication();
    while (this.is('+') || this.is('-')) {
      this.next();
      this.multiplication();
    }
  }
  private multiplication(): void {
    this.unary();
    while (this.is('*') || this.is('/') || this.is('%')) {
      this.next();
      this.unary();
    }
  }
  private unary(): void {
    if (this.is('!') || this.is('-')) {
      this.next();
      return this.unary();
    }
    this.member();
  }
  private member(): void {
    this.primary();
    for (;;) {
      if (this.is('.')) {
        this.next();
        if (this.peek().kind !== 'ident') this.fail();
        this.next();
        if (this.is('(')) this.args(')');
        else if (this.is('{')) this.fieldInits();
      } else if (this.is('[')) {
        this.next();
        this.expr();
        this.expect(']');
      } else return;
    }
  }
  private args(close: string): void {
    this.next();
    if (this.is(close)) {
      this.next();
      return;
    }
    for (;;) {
      this.expr();
      if (this.is(',')) {
        this.next();
        if (this.is(close)) break;
        continue;
      }
      break;
    }
    this.expect(close);
  }
  private fieldInits(): void {
    this.next();
    while (!this.is('}')) {
      if (this.peek().kind !== 'ident') this.fail();
      this.next();
      this.expect(':');
      this.expr();
      if (!this.is(',')) break;
      this.next();
    }
    this.expect('}');
  }
  private primary(): void {
    if (this.is('.')) {
      this.next();
      if (this.peek().kind !== 'ident') this.fail();
    }
    const tok = this.peek();
    if (tok.kind === 'ident') {
      this.next();
      if (this.is('(')) this.args(')');
      else if (this.is('{')) this.fieldInits();
      return;
    }
    if (tok.kind === 'number' || tok.kind === 'string') {
      this.next();
      return;
    }
    if (this.is('(')) {
      this.next();
      this.expr();
      this.expect(')');
      return;
    }
    if (this.is('[')) return this.args(']');
    if (this.is('{')) {
      this.next();
      while (!this.is('}')) {
        this.expr();
        this.expect(':');
        this.expr();
        if (!this.is(',')) break;
        this.next();
      }
      this.expect('}');
      return;
    }
    this.fail();
  }
}

/** Returns a syntax error of a CEL expression, or undefined when it parses. */
export function celSyntaxError(expression: string): string | undefined {
  try {
    new Parser(tokenize(expression)).parse();
    return undefined;
  } catch (e) {
    if (e instanceof CelSyntaxError) return e.message;
    throw e;
  }
}
