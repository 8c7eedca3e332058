// Lexer for Go's text/template syntax (same tokens, trimming rules and error texts as Go's).

export const enum T {
  Error, Bool, Char, CharConstant, Comment, Complex, Assign, Declare, EOF, Field, Identifier,
  LeftDelim, LeftParen, Number, Pipe, RawString, RightDelim, RightParen, Space, String, Text,
  Variable,
  // keywords
  Keyword, Block, Break, Continue, Dot, Define, Else, End, If, Nil, Range, Template, With,
}

export interface Item { typ: T; pos: number; val: string; line: number }

const keywords: Record<string, T> = {
  '.': T.Dot, block: T.Block, break: T.Break, continue: T.Continue, define: T.Define, else: T.Else,
  end: T.End, if: T.If, range: T.Range, nil: T.Nil, template: T.Template, with: T.With,
};

export function itemString(it: Item): string {
  if (it.typ === T.EOF) return 'EOF';
  if (it.typ === T.Error) return it.val;
  if (it.typ > T.Keyword) return `<${it.val}>`;
  if ([...it.val].length > 10) return goQuotePrefix(it.val, 10) + '...';
  return JSON.stringify(it.val);
}

function goQuotePrefix(s: string, n: number): string {
  return JSON.stringify([...s].slice(0, n).join(''));
}

const spaceChars = ' \t\r\n';
const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const alnumRe = /^[\p{L}\p{Nd}_]$/u;
const isAlphaNumeric = (c: string | undefined): boolean => c !== undefined && (c === '_' || alnumRe.test(c));

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s[at] === '-' && isSpace(s[at + 1]);
}
function hasRightTrimMarker(s: string, at: number): boolean {
  return isSpace(s[at]) && s[at + 1] === '-';
}

function runeDesc(c: string): string {
  const cp = c.codePointAt(0)!;
  const u = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return cp >= 0x20 && cp !== 0x7f ? `${u} '${c}'` : u;
}

/** Tokenizes a whole template. The last item is EOF or Error. */
export function lex(input: string, opts: { breakOK: boolean; continueOK: boolean; leftDelim?: string; rightDelim?: string }): Item[] {
  const left = opts.leftDelim || '{{';
  const right = opts.rightDelim || '}}';
  const items: Item[] = [];
  let pos = 0, start = 0, line = 1, startLine = 1, parenDepth = 0;

  const emit = (typ: T): void => {
    items.push({ typ, pos: start, val: input.slice(start, pos), line: startLine });
    start = pos;
    startLine = line;
  };
  const ignore = (): void => {
    line += count(input.slice(start, pos), '\n');
    start = pos;
    startLine = line;
  };
  const errorf = (msg: string): void => {
    items.push({ typ: T.Error, pos: start, val: msg, line: startLine });
  };
  const next = (): string | undefined => {
    if (pos >= input.length) return undefined;
    const c = String.fromCodePoint(input.codePointAt(pos)!);
    pos += c.length;
    if (c === '\n') line++;
    return c;
  };
  const backup = (c: string | undefined): void => {
    if (c === undefined) return;
    pos -= c.length;
    if (c === '\n') line--;
  };
  const peek = (): string | undefined => (pos < input.length ? String.fromCodePoint(input.codePointAt(pos)!) : undefined);
  const atRightDelim = (): [boolean, boolean] => {
    if (hasRightTrimMarker(input, pos) && input.startsWith(right, pos + 2)) return [true, true];
    if (input.startsWith(right, pos)) return [true, false];
    return [false, false];
  };
  const atTerminator = (): boolean => {
    const r = peek();
    if (r === undefined || isSpace(r)) return true;
    if ('.,|:)('.includes(r)) return true;
    return input.startsWith(right, pos);
  };

  type State = (() => State) | null;

  const lexText = (): State => {
    const x = input.indexOf(left, pos);
    if (x >= 0) {
      pos = x;
      let trimLength = 0;
      if (hasLeftTrimMarker(input, pos + left.length)) {
        const txt = input.slice(start, pos);
        trimLength = txt.length - trimRight(txt).length;
      }
      pos -= trimLength;
      if (pos > start) { line += count(input.slice(start, pos), '\n'); emit(T.Text); }
      pos += trimLength;
      ignore();
      return lexLeftDelim;
    }
    pos = input.length;
    if (pos > start) { line += count(input.slice(start, pos), '\n'); emit(T.Text); }
    emit(T.EOF);
    return null;
  };

  const lexLeftDelim = (): State => {
    pos += left.length;
    const trimSpace = hasLeftTrimMarker(input, pos);
    const afterMarker = trimSpace ? 2 : 0;
    if (input.startsWith('/*', pos + afterMarker)) {
      pos += afterMarker;
      ignore();
      return lexComment;
    }
    emit(T.LeftDelim);
    pos += afterMarker;
    ignore();
    parenDepth = 0;
    return lexInsideAction;
  };

  const lexComment = (): State => {
    pos += 2;
    const i = input.indexOf('*/', pos);
    if (i < 0) { errorf('unclosed comment'); return null; }
    pos = i + 2;
    const [delim, trimSpace] = atRightDelim();
    if (!delim) { errorf('comment ends before closing delimiter'); return null; }
    if (trimSpace) pos += 2;
    pos += right.length;
    if (trimSpace) pos += input.slice(pos).length - trimLeft(input.slice(pos)).length;
    ignore();
    return lexText;
  };

  const lexRightDelim = (): State => {
    const trimSpace = hasRightTrimMarker(input, pos);
    if (trimSpace) { pos += 2; ignore(); }
    pos += right.length;
    emit(T.RightDelim);
    if (trimSpace) {
      pos += input.slice(pos).length - trimLeft(input.slice(pos)).length;
      ignore();
    }
    return lexText;
  };

  const lexInsideAction = (): State => {
    const [delim] = atRightDelim();
    if (delim) {
      if (parenDepth === 0) return lexRightDelim;
      errorf('unclosed left paren');
      return null;
    }
    const r = next();
    if (r === undefined) { errorf('unclosed action'); return null; }
    if (isSpace(r)) { backup(r); return lexSpace; }
    if (r === '=') { emit(T.Assign); return lexInsideAction; }
    if (r === ':') {
      if (next() !== '=') { errorf('expected :='); return null; }
      emit(T.Declare);
      return lexInsideAction;
    }
    if (r === '|') { emit(T.Pipe); return lexInsideAction; }
    if (r === '"') return lexQuote;
    if (r === '`') return lexRawQuote;
    if (r === '$') return lexVariable;
    if (r === "'") return lexChar;
    if (r === '.') {
      if (pos < input.length) {
        const c = input[pos];
        if (c < '0' || c > '9') return lexField;
      }
      backup(r);
      return lexNumber;
    }
    if (r === '+' || r === '-' || (r >= '0' && r <= '9')) { backup(r); return lexNumber; }
    if (isAlphaNumeric(r)) { backup(r); return lexIdentifier; }
    if (r === '(') { emit(T.LeftParen); parenDepth++; return lexInsideAction; }
    if (r === ')') {
      emit(T.RightParen);
      parenDepth--;
      if (parenDepth < 0) { errorf(`unexpected right paren ${runeDesc(r)}`); return null; }
      return lexInsideAction;
    }
    const cp = r.codePointAt(0)!;
    if (cp < 0x80 && cp >= 0x20 && cp !== 0x7f) { emit(T.Char); return lexInsideAction; }
    errorf(`unrecognized character in action: ${runeDesc(r)}`);
    return null;
  };

  const lexSpace = (): State => {
    let numSpaces = 0;
    while (isSpace(peek())) { next(); numSpaces++; }
    if (hasRightTrimMarker(input, pos - 1) && input.startsWith(right, pos - 1 + 2)) {
      backup(input[pos - 1]);
      if (numSpaces === 1) return lexRightDelim;
    }
    emit(T.Space);
    return lexInsideAction;
  };

  const lexIdentifier = (): State => {
    for (;;) {
      const r = next();
      if (isAlphaNumeric(r)) continue;
      backup(r);
      const word = input.slice(start, pos);
      if (!atTerminator()) { errorf(`bad character ${runeDesc(r ?? '')}`); return null; }
      const kw = keywords[word];
      if (kw !== undefined && kw > T.Keyword) {
        if ((kw === T.Break && !opts.breakOK) || (kw === T.Continue && !opts.continueOK)) emit(T.Identifier);
        else emit(kw);
      } else if (word[0] === '.') emit(T.Field);
      else if (word === 'true' || word === 'false') emit(T.Bool);
      else emit(T.Identifier);
      return lexInsideAction;
    }
  };

  const lexFieldOrVariable = (typ: T): State => {
    if (atTerminator()) {
      emit(typ === T.Variable ? T.Variable : T.Dot);
      return lexInsideAction;
    }
    let r: string | undefined;
    for (;;) {
      r = next();
      if (!isAlphaNumeric(r)) { backup(r); break; }
    }
    if (!atTerminator()) { errorf(`bad character ${runeDesc(r ?? '')}`); return null; }
    emit(typ);
    return lexInsideAction;
  };
  const lexField = (): State => lexFieldOrVariable(T.Field);
  const lexVariable = (): State => {
    if (atTerminator()) { emit(T.Variable); return lexInsideAction; }
    return lexFieldOrVariable(T.Variable);
  };

  const lexChar = (): State => {
    for (;;) {
      const c = next();
      if (c === '\\') {
        const r = next();
        if (r !== undefined && r !== '\n') continue;
        errorf('unterminated character constant');
        return null;
      }
      if (c === undefined || c === '\n') { errorf('unterminated character constant'); return null; }
      if (c === "'") break;
    }
    emit(T.CharConstant);
    return lexInsideAction;
  };

  const accept = (valid: string): boolean => {
    const c = next();
    if (c !== undefined && valid.includes(c)) return true;
    backup(c);
    return false;
  };
  const acceptRun = (valid: string): void => {
    for (;;) {
      const c = next();
      if (c === undefined || !valid.includes(c)) { backup(c); return; }
    }
  };
  const scanNumber = (): boolean => {
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) { accept('+-'); acceptRun('0123456789_'); }
    if (digits.length === 23 && accept('pP')) { accept('+-'); acceptRun('0123456789_'); }
    accept('i');
    if (isAlphaNumeric(peek())) { next(); return false; }
    return true;
  };
  const lexNumber = (): State => {
    if (!scanNumber()) { errorf(`bad number syntax: ${JSON.stringify(input.slice(start, pos))}`); return null; }
    const sign = peek();
    if (sign === '+' || sign === '-') {
      if (!scanNumber() || input[pos - 1] !== 'i') {
        errorf(`bad number syntax: ${JSON.stringify(input.slice(start, pos))}`);
        return null;
      }
      emit(T.Complex);
    } else emit(T.Number);
    return lexInsideAction;
  };

  const lexQuote = (): State => {
    for (;;) {
      const c = next();
      if (c === '\\') {
        const r = next();
        if (r !== undefined && r !== '\n') continue;
        errorf('unterminated quoted string');
        return null;
      }
      if (c === undefined || c === '\n') { errorf('unterminated quoted string'); return null; }
      if (c === '"') break;
    }
    emit(T.String);
    return lexInsideAction;
  };

  const lexRawQuote = (): State => {
    for (;;) {
      const c = next();
      if (c === undefined) { errorf('unterminated raw quoted string'); return null; }
      if (c === '`') break;
    }
    emit(T.RawString);
    return lexInsideAction;
  };

  let state: State = lexText;
  while (state) state = state();
  return items;
}

function count(s: string, sub: string): number {
  let n = 0, i = 0;
  while ((i = s.indexOf(sub, i)) >= 0) { n++; i += sub.length; }
  return n;
}

function trimRight(s: string): string {
  let j = s.length;
  while (j > 0 && spaceChars.includes(s[j - 1])) j--;
  return s.slice(0, j);
}

function trimLeft(s: string): string {
  let i = 0;
  while (i < s.length && spaceChars.includes(s[i])) i++;
  return s.slice(i);
}
