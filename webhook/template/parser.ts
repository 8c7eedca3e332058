// Parser for Go's text/template, producing the trees of ast.ts. Follows Go's grammar, its
// variable scoping at parse time and its error messages.

import { lex, T, itemString, type Item } from './lexer.js';
import type {
  ArgNode, BranchNode, CommandNode, EndNode, ListNode, Node, NumberNode, PipeNode, TreeInfo, VariableNode,
} from './ast.js';
import { isEmptyTree } from './ast.js';
import { TemplateError } from './errors.js';
import { parseGoFloat, parseGoInt, unquote, unquoteQuoted } from './literals.js';

export interface Tree { name: string; root: ListNode; info: TreeInfo }

export interface ParseOptions {
  hasFunction: (name: string) => boolean;
  leftDelim?: string;
  rightDelim?: string;
}

class ParseError extends Error {}

/** Parses `text` as template `name`; returns it and every template it defines, by name. */
export function parseTrees(name: string, text: string, opts: ParseOptions): Map<string, Tree> {
  const items = lex(text, {
    breakOK: !opts.hasFunction('break'),
    continueOK: !opts.hasFunction('continue'),
    leftDelim: opts.leftDelim, rightDelim: opts.rightDelim,
  });
  const treeSet = new Map<string, Tree>();
  const p = new Parser(items, text, name, opts, treeSet);
  try {
    p.parseTop();
  } catch (e) {
    if (e instanceof ParseError) {
      throw new TemplateError(e.message, { templateName: p.currentName, phase: 'parse', line: p.errLine });
    }
    throw e;
  }
  return treeSet;
}

class Parser {
  private i = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;
  currentName: string;
  errLine = 0;
  private info: TreeInfo;

  constructor(
    private readonly items: Item[], text: string, private readonly parseName: string,
    private readonly opts: ParseOptions, private readonly treeSet: Map<string, Tree>,
  ) {
    this.currentName = parseName;
    this.info = { name: parseName, parseName, text };
  }

  // ---- token helpers ----
  private seen = 0;
  private next(): Item { this.seen = Math.max(this.seen, this.i); return this.items[Math.min(this.i++, this.items.length - 1)]; }
  private backup(n = 1): void { this.i -= n; }
  private peek(): Item { this.seen = Math.max(this.seen, this.i); return this.items[Math.min(this.i, this.items.length - 1)]; }
  private nextNonSpace(): Item {
    let t: Item;
    do t = this.next(); while (t.typ === T.Space);
    return t;
  }
  private peekNonSpace(): Item {
    const save = this.i;
    const t = this.nextNonSpace();
    this.i = save;
    // Go consumes the spaces here; mirror that so positions match.
    while (this.peek().typ === T.Space) this.i++;
    return t;
  }
  private lastLine(): number { return this.items[Math.min(this.seen, this.items.length - 1)]?.line ?? 1; }

  private errorf(msg: string, line = this.lastLine()): never {
    this.errLine = line;
    throw new ParseError(`template: ${this.parseName}:${line}: ${msg}`);
  }
  private unexpected(tok: Item, context: string): never {
    if (tok.typ === T.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== tok.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (tok.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${tok.val}${extra}`, tok.line);
    }
    this.errorf(`unexpected ${itemString(tok)} in ${context}`, tok.line);
  }
  private expect(typ: T, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== typ) this.unexpected(t, context);
    return t;
  }

  private addTree(name: string, root: ListNode): void {
    const old = this.treeSet.get(name);
    if (!old || isEmptyTree(old.root)) {
      this.treeSet.set(name, { name, root, info: this.info });
      return;
    }
    if (!isEmptyTree(root)) this.errorf(`template: multiple definition of template ${JSON.stringify(name)}`);
  }

  // ---- grammar ----
  parseTop(): void {
    const root = this.newList(this.peek().pos);
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const save = this.i;
        this.next();
        if (this.nextNonSpace().typ === T.Define) {
          this.parseDefinition();
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${n.type === 'end' ? '{{end}}' : '{{else}}'}`);
      if (n.type !== 'comment') root.nodes.push(n as Node);
    }
    this.addTree(this.parseName, root);
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const nameTok = this.nextNonSpace();
    if (nameTok.typ !== T.String && nameTok.typ !== T.RawString) this.unexpected(nameTok, context);
    const name = this.unquote(nameTok.val);
    this.expect(T.RightDelim, context);
    const savedVars = this.vars;
    const savedName = this.currentName;
    this.vars = ['$'];
    this.currentName = name;
    const [list, end] = this.itemList();
    if (end.type !== 'end') this.errorf(`unexpected ${end.type === 'else' ? '{{else}}' : end.type} in ${context}`);
    this.addTree(name, list);
    this.vars = savedVars;
    this.currentName = savedName;
  }

  private itemList(): [ListNode, EndNode] {
    const list = this.newList(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n as EndNode];
      if (n.type !== 'comment') list.nodes.push(n as Node);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node | { type: 'comment' } {
    const tok = this.nextNonSpace();
    switch (tok.typ) {
      case T.Text: return { type: 'text', pos: tok.pos, tree: this.info, text: tok.val };
      case T.LeftDelim: {
        this.actionLine = tok.line;
        try { return this.action(); } finally { this.actionLine = 0; }
      }
      case T.Comment: return { type: 'comment' };
      default: this.unexpected(tok, 'input');
    }
  }

  private action(): Node {
    const tok = this.nextNonSpace();
    switch (tok.typ) {
      case T.Block: return this.blockControl();
      case T.Break: case T.Continue: {
        const word = tok.typ === T.Break ? 'break' : 'continue';
        const t = this.nextNonSpace();
        if (t.typ !== T.RightDelim) this.unexpected(t, `{{${word}}}`);
        if (this.rangeDepth === 0) this.errorf(`{{${word}}} outside {{range}}`);
        return { type: word, pos: tok.pos, line: tok.line, tree: this.info };
      }
      case T.Else: {
        const peek = this.peekNonSpace();
        if (peek.typ === T.If || peek.typ === T.With) return { type: 'else', pos: peek.pos, line: peek.line, tree: this.info };
        const t = this.expect(T.RightDelim, 'else');
        return { type: 'else', pos: t.pos, line: t.line, tree: this.info };
      }
      case T.End: {
        const t = this.expect(T.RightDelim, 'end');
        return { type: 'end', pos: t.pos, line: t.line, tree: this.info };
      }
      case T.If: return this.control('if');
      case T.Range: return this.control('range');
      case T.With: return this.control('with');
      case T.Template: return this.templateControl();
    }
    this.backup();
    const t = this.peek();
    const pipe = this.pipeline('command', T.RightDelim);
    return { type: 'action', pos: t.pos, line: t.line, pipe, tree: this.info };
  }

  private control(context: 'if' | 'range' | 'with'): BranchNode {
    const mark = this.vars.length;
    const pipe = this.pipeline(context, T.RightDelim);
    if (context === 'range') this.rangeDepth++;
    let [list, next] = this.itemList();
    if (context === 'range') this.rangeDepth--;
    let elseList: ListNode | null = null;
    if (next.type === 'else') {
      const peek = this.peek();
      if ((context === 'if' && peek.typ === T.If) || (context === 'with' && peek.typ === T.With)) {
        this.next();
        elseList = this.newList(next.pos);
        elseList.nodes.push(this.control(context));
      } else {
        [elseList, next] = this.itemList();
        if (next.type !== 'end') this.errorf(`expected end; found ${next.type === 'else' ? '{{else}}' : '{{end}}'}`);
      }
    }
    this.vars.length = mark;
    return { type: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList, tree: this.info };
  }

  private blockControl(): Node {
    const context = 'block clause';
    const tok = this.nextNonSpace();
    const name = this.templateName(tok, context);
    const pipe = this.pipeline(context, T.RightDelim);
    const savedVars = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    this.vars = savedVars;
    if (end.type !== 'end') this.errorf(`unexpected {{else}} in ${context}`);
    this.addTree(name, list);
    return { type: 'template', pos: tok.pos, line: tok.line, name, pipe, tree: this.info };
  }

  private templateControl(): Node {
    const context = 'template clause';
    const tok = this.nextNonSpace();
    const name = this.templateName(tok, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== T.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, T.RightDelim);
    }
    return { type: 'template', pos: tok.pos, line: tok.line, name, pipe, tree: this.info };
  }

  private templateName(tok: Item, context: string): string {
    if (tok.typ === T.String || tok.typ === T.RawString) return this.unquote(tok.val);
    this.unexpected(tok, context);
  }

  private pipeline(context: string, end: T): PipeNode {
    const tok = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', pos: tok.pos, line: tok.line, isAssign: false, decl: [], cmds: [], tree: this.info };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== T.Variable) break;
      const save = this.i;
      this.next();
      const tokenAfterVariable = this.peek();
      const nxt = this.peekNonSpace();
      if (nxt.typ === T.Assign || nxt.typ === T.Declare) {
        pipe.isAssign = nxt.typ === T.Assign;
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
      } else if (nxt.typ === T.Char && nxt.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const pk = this.peekNonSpace().typ;
          if (pk === T.Variable || pk === T.RightDelim || pk === T.RightParen) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === T.Space) {
        this.i = save;
      } else {
        this.i = save;
      }
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (t.typ) {
        case T.Bool: case T.CharConstant: case T.Complex: case T.Dot: case T.Field: case T.Identifier:
        case T.Number: case T.Nil: case T.RawString: case T.String: case T.Variable: case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0].type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', pos: this.peekNonSpace().pos, args: [], tree: this.info };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.typ === T.Space) continue;
      if (t.typ === T.RightDelim || t.typ === T.RightParen) this.backup();
      else if (t.typ !== T.Pipe) this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): ArgNode | null {
    let node = this.term();
    if (!node) return null;
    if (this.peek().typ === T.Field) {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === T.Field) fields.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field': node = { type: 'field', pos, ident: [...node.ident, ...fields], tree: this.info }; break;
        case 'variable': node = { type: 'variable', pos, ident: [...node.ident, ...fields], tree: this.info }; break;
        case 'bool': case 'string': case 'number': case 'nil': case 'dot':
          this.errorf(`unexpected . after term ${JSON.stringify(nodeText(node))}`);
        // falls through (errorf never returns)
        default: node = { type: 'chain', pos, node, field: fields, tree: this.info };
      }
    }
    return node;
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    switch (t.typ) {
      case T.Identifier:
        if (!this.opts.hasFunction(t.val)) this.errorf(`function ${JSON.stringify(t.val)} not defined`, t.line);
        return { type: 'identifier', pos: t.pos, ident: t.val, tree: this.info };
      case T.Dot: return { type: 'dot', pos: t.pos, tree: this.info };
      case T.Nil: return { type: 'nil', pos: t.pos, tree: this.info };
      case T.Variable: return this.useVar(t.pos, t.val);
      case T.Field: return { type: 'field', pos: t.pos, ident: t.val.slice(1).split('.'), tree: this.info };
      case T.Bool: return { type: 'bool', pos: t.pos, val: t.val === 'true', tree: this.info };
      case T.CharConstant: case T.Complex: case T.Number: return this.newNumber(t);
      case T.LeftParen: return this.pipeline('parenthesized pipeline', T.RightParen);
      case T.String: case T.RawString:
        return { type: 'string', pos: t.pos, quoted: t.val, text: this.unquote(t.val), tree: this.info };
    }
    this.backup();
    return null;
  }

  private newVariable(pos: number, name: string): VariableNode {
    return { type: 'variable', pos, ident: name.split('.'), tree: this.info };
  }

  private useVar(pos: number, name: string): VariableNode {
    const v = this.newVariable(pos, name);
    if (!this.vars.includes(v.ident[0])) this.errorf(`undefined variable ${JSON.stringify(v.ident[0])}`);
    return v;
  }

  private newList(pos: number): ListNode {
    return { type: 'list', pos, nodes: [], tree: this.info };
  }

  private newNumber(t: Item): NumberNode {
    const n: NumberNode = {
      type: 'number', pos: t.pos, text: t.val, tree: this.info,
      isInt: false, isUint: false, isFloat: false, isComplex: false, int64: 0n, uint64: 0n, float64: 0,
    };
    const text = t.val;
    if (t.typ === T.CharConstant) {
      const s = this.unquoteRaw(text, "'");
      const cps = [...s];
      if (cps.length !== 1) this.errorf(`malformed character constant: ${text}`);
      const r = BigInt(cps[0].codePointAt(0)!);
      Object.assign(n, { int64: r, uint64: r, float64: Number(r), isInt: true, isUint: true, isFloat: true });
      return n;
    }
    if (t.typ === T.Complex || text.endsWith('i')) {
      this.errorf(`complex numbers are not supported: ${text}`);
    }
    const i = parseGoInt(text);
    if (i !== undefined) {
      if (i >= 0n && i <= 0xffffffffffffffffn) { n.isUint = true; n.uint64 = i; }
      if (i >= -(2n ** 63n) && i < 2n ** 63n) { n.isInt = true; n.int64 = i; }
    }
    if (n.isInt) { n.isFloat = true; n.float64 = Number(n.int64); }
    else if (n.isUint) { n.isFloat = true; n.float64 = Number(n.uint64); }
    else {
      const f = parseGoFloat(text);
      if (f !== undefined) {
        if (!/[.eEpP]/.test(text)) this.errorf(`integer overflow: ${JSON.stringify(text)}`);
        n.isFloat = true;
        n.float64 = f;
        if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) { n.isInt = true; n.int64 = BigInt(f); }
        if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) { n.isUint = true; n.uint64 = BigInt(f); }
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${JSON.stringify(text)}`);
    return n;
  }

  private unquote(s: string): string {
    try { return unquote(s); } catch { this.errorf('invalid syntax'); }
  }

  private unquoteRaw(s: string, q: string): string {
    try { return unquoteQuoted(s, q); } catch { this.errorf('invalid syntax'); }
  }
}

function nodeText(n: ArgNode): string {
  switch (n.type) {
    case 'bool': return n.val ? 'true' : 'false';
    case 'string': return n.quoted;
    case 'number': return n.text;
    case 'nil': return 'nil';
    default: return '.';
  }
}
