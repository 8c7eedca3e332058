// The executor: walks a parse tree over data, with Go text/template's semantics.

import {
  errorContext, nodeString, type ArgNode, type BranchNode, type ChainNode, type CommandNode, type FieldNode,
  type IdentifierNode, type Node, type NumberNode, type PipeNode, type TemplateNode, type VariableNode,
} from './ast.js';
import { TemplateError } from './errors.js';
import { sprint, setIntNumbers } from './fmt.js';
import { AND_OR, canBeNil, checkArg, classify, nilFor, type FuncDef, type GoType } from './funcs.js';
import {
  elemTypeOfMap, isNilPointer, isTrue, kindOf, mapGet, mapHas, methodOf, sortedEntries, structHas, truth, typeName, zeroOf,
} from './values.js';

export type MissingKey = 'default' | 'zero' | 'error';

/** What the executor needs from a template set. */
export interface ExecEnv {
  lookupTree(name: string): { root: Node } | undefined;
  findFunc(name: string): { def: FuncDef; builtin: boolean } | undefined;
  missingKey: MissingKey;
  intNumbers: boolean;
  maxDepth: number;
}

const MISSING: unique symbol = Symbol('missing');
type Final = unknown | typeof MISSING;

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

interface Variable { name: string; value: unknown }

export function execute(env: ExecEnv, name: string, root: Node, data: unknown): string {
  const s = new State(env, name, [{ name: '$', value: undefined }], 0);
  const prev = setIntNumbers(env.intNumbers);
  try {
    const dot = s.norm(data === null ? undefined : data);
    s.vars[0].value = dot;
    s.walk(dot, root);
  } finally {
    setIntNumbers(prev);
  }
  return s.out.join('');
}

class State {
  out: string[] = [];
  node: Node | null = null;

  constructor(
    private readonly env: ExecEnv, private readonly name: string, public vars: Variable[], private readonly depth: number,
  ) {}

  norm(v: unknown): unknown {
    return this.env.intNumbers && typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v;
  }

  at(n: Node): void { this.node = n; }

  errorf(msg: string, cause?: unknown): never {
    const n = this.node;
    if (!n) throw new TemplateError(`template: ${this.name}: ${msg}`, { templateName: this.name, phase: 'exec', cause });
    const ctx = errorContext(n);
    throw new TemplateError(`template: ${ctx.location}: executing ${JSON.stringify(this.name)} at <${ctx.context}>: ${msg}`, {
      templateName: this.name, phase: 'exec', line: ctx.line, column: ctx.col, context: ctx.context, cause,
    });
  }

  // ---- variables ----
  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }
  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) { this.vars[i].value = value; return; }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  // ---- walking ----
  walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break': throw BREAK;
      case 'continue': throw CONTINUE;
      case 'if': case 'with': return this.walkIfOrWith(node, dot);
      case 'list': for (const n of node.nodes) this.walk(dot, n); return;
      case 'range': return this.walkRange(dot, node);
      case 'template': return this.walkTemplate(dot, node);
      case 'text': this.out.push(node.text); return;
      default: this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  private walkIfOrWith(node: BranchNode, dot: unknown): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      const [t, ok] = isTrue(val);
      if (!ok) this.errorf(`if/with can't use ${sprint(val)}`);
      if (t) this.walk(node.type === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  private walkRange(dot: unknown, r: BranchNode): void {
    this.at(r);
    const outer = this.vars.length;
    try {
      let val = this.evalPipeline(dot, r.pipe);
      if (val === null) val = undefined;
      const mark = this.vars.length;
      const decl = r.pipe.decl;
      const one = (index: unknown, elem: unknown): void => {
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0].ident[0], decl.length > 1 ? index : elem);
          else this.vars[this.vars.length - 1].value = elem;
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1].ident[0], elem);
          else this.vars[this.vars.length - 2].value = index;
        }
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.vars.length = mark;
        }
      };
      let ran = false;
      try {
        switch (kindOf(val)) {
          case 'int': {
            if (decl.length > 1) this.errorf(`can't use ${sprint(val)} to iterate over more than one variable`);
            for (let i = 0n; i < (val as bigint); i++) { ran = true; one(undefined, i); }
            break;
          }
          case 'slice':
            (val as unknown[]).forEach((e, i) => { ran = true; one(BigInt(i), e === undefined ? null : this.norm(e)); });
            break;
          case 'map':
            for (const [k, v] of sortedEntries(val as Record<string, unknown>)) { ran = true; one(k, v === undefined ? null : this.norm(v)); }
            break;
          case 'invalid':
            break;
          default:
            this.errorf(`range can't iterate over ${sprint(val)}`);
        }
      } catch (e) {
        if (e !== BREAK) throw e;
        ran = true;
      }
      if (!ran && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.vars.length = outer;
    }
  }

  private walkTemplate(dot: unknown, t: TemplateNode): void {
    this.at(t);
    const tree = this.env.lookupTree(t.name);
    if (!tree) this.errorf(`template ${JSON.stringify(t.name)} not defined`);
    if (this.depth >= this.env.maxDepth) this.errorf(`exceeded maximum template depth (${this.env.maxDepth})`);
    const newDot = this.evalPipeline(dot, t.pipe);
    const s = new State(this.env, t.name, [{ name: '$', value: newDot }], this.depth + 1);
    s.out = this.out;
    s.walk(newDot, tree.root);
  }

  // ---- evaluation ----
  evalPipeline(dot: unknown, pipe: PipeNode | null): unknown {
    if (!pipe) return undefined;
    this.at(pipe);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      if (value === null) value = undefined;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0], value);
      else this.vars.push({ name: v.ident[0], value });
    }
    return value;
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0];
    switch (first.type) {
      case 'field': return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain': return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier': return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe': this.notAFunction(cmd.args, final); return this.evalPipeline(dot, first);
      case 'variable': return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool': return first.val;
      case 'dot': return dot;
      case 'nil': this.errorf('nil is not a command');
      // falls through (errorf never returns)
      case 'number': return this.idealConstant(first);
      case 'string': return first.text;
    }
    this.errorf(`can't evaluate command ${JSON.stringify(nodeString(first))}`);
  }

  private idealConstant(n: NumberNode): unknown {
    this.at(n);
    const isHexInt = /^[+-]?0[xX]/.test(n.text) && !/[pP]/.test(n.text);
    const isRune = n.text.startsWith("'");
    if (n.isFloat && !isHexInt && !isRune && /[.eEpP]/.test(n.text)) return n.float64;
    if (n.isInt) return n.int64;
    if (n.isUint) this.errorf(`${n.text} overflows int`);
    return undefined;
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, undefined, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(dot: unknown, v: VariableNode, args: ArgNode[] | null, final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]);
    if (v.ident.length === 1) {
      this.notAFunction(args ?? [v], final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: Node, ident: string[], args: ArgNode[] | null, final: Final): unknown {
    const n = ident.length;
    let staticType: string | undefined;
    for (let i = 0; i < n - 1; i++) {
      const next = this.evalField(dot, ident[i], node, null, MISSING, receiver, staticType);
      staticType = kindOf(receiver) === 'map' ? elemTypeOfMap(receiver) : undefined;
      receiver = next;
    }
    return this.evalField(dot, ident[n - 1], node, args, final, receiver, staticType);
  }

  private evalField(
    dot: unknown, fieldName: string, node: Node, args: ArgNode[] | null, final: Final, receiver: unknown, staticType?: string,
  ): unknown {
    if (receiver === undefined) {
      if (this.env.missingKey === 'error') this.errorf(`nil data; no entry for key ${JSON.stringify(fieldName)}`);
      return undefined;
    }
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    const method = methodOf(receiver, fieldName);
    if (method) {
      return this.evalCall(dot, { params: [], variadic: 'interface {}', fn: method }, false, node, fieldName, args, final);
    }
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    if (isNilPointer(receiver)) this.errorf(`nil pointer evaluating ${typeName(receiver)}.${fieldName}`);
    switch (kindOf(receiver)) {
      case 'struct':
        if (structHas(receiver as object, fieldName)) {
          if (hasArgs) this.errorf(`${fieldName} has arguments but cannot be invoked as function`);
          return this.norm((receiver as Record<string, unknown>)[fieldName]);
        }
        break;
      case 'map': {
        const m = receiver as Record<string, unknown>;
        if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
        if (mapHas(m, fieldName)) {
          const v = mapGet(m, fieldName);
          return v === undefined ? null : this.norm(v);
        }
        switch (this.env.missingKey) {
          case 'zero': return zeroOf(elemTypeOfMap(m));
          case 'error': this.errorf(`map has no entry for key ${JSON.stringify(fieldName)}`);
          // falls through (errorf never returns)
          default: return undefined;
        }
      }
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${staticType ?? typeName(receiver)}`);
  }

  private evalFunction(dot: unknown, node: IdentifierNode, cmd: Node, args: ArgNode[] | null, final: Final): unknown {
    this.at(node);
    const f = this.env.findFunc(node.ident);
    if (!f) this.errorf(`${JSON.stringify(node.ident)} is not a defined function`);
    return this.evalCall(dot, f.def, f.builtin, cmd, node.ident, args, final);
  }

  private evalCall(dot: unknown, def: FuncDef, builtin: boolean, node: Node, name: string, args: ArgNode[] | null, final: Final): unknown {
    const argNodes = args ? args.slice(1) : [];
    let numIn = argNodes.length;
    if (final !== MISSING) numIn++;
    const numFixed = def.params.length;
    if (def.variadic !== undefined) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${argNodes.length}`);
    } else if (numIn !== numFixed) {
      this.errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }
    if (builtin && AND_OR.has(name)) {
      let v: unknown;
      for (const a of argNodes) {
        v = this.evalArg(dot, 'reflect.Value', a);
        if (truth(v) === (name === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    }
    const argv: unknown[] = [];
    let i = 0;
    for (; i < numFixed && i < argNodes.length; i++) argv.push(this.evalArg(dot, def.params[i], argNodes[i]));
    if (def.variadic !== undefined) for (; i < argNodes.length; i++) argv.push(this.evalArg(dot, def.variadic, argNodes[i]));
    if (final !== MISSING) {
      let t: GoType;
      if (def.variadic !== undefined) t = numIn - 1 < numFixed ? def.params[numIn - 1] : def.variadic;
      else t = def.params[def.params.length - 1];
      argv.push(this.validate(final, t));
    }
    let result: unknown;
    try {
      result = def.fn(...argv);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      this.at(node);
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    return result === undefined ? (builtin ? result : null) : this.norm(result);
  }

  private validate(value: unknown, typ: GoType | undefined): unknown {
    if (typ === undefined) return value;
    const r = checkArg(value, typ);
    if (!r.ok) this.errorf(r.msg);
    return r.value;
  }

  private evalArg(dot: unknown, typ: GoType | undefined, n: ArgNode): unknown {
    this.at(n);
    switch (n.type) {
      case 'dot': return this.validate(dot, typ);
      case 'nil':
        if (typ === undefined || canBeNil(typ)) return typ === undefined ? undefined : nilFor(typ);
        this.errorf(`cannot assign nil to ${typ}`);
      // falls through (errorf never returns)
      case 'field': return this.validate(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable': return this.validate(this.evalVariableNode(dot, n, null, MISSING), typ);
      case 'pipe': return this.validate(this.evalPipeline(dot, n), typ);
      case 'identifier': return this.validate(this.evalFunction(dot, n, n, null, MISSING), typ);
      case 'chain': return this.validate(this.evalChainNode(dot, n, null, MISSING), typ);
    }
    const cls = typ === undefined ? 'any' : classify(typ);
    switch (cls) {
      case 'bool':
        if (n.type === 'bool') return n.val;
        this.errorf(`expected bool; found ${nodeString(n)}`);
      // falls through (errorf never returns)
      case 'float':
        if (n.type === 'number' && n.isFloat) return n.float64;
        this.errorf(`expected float; found ${nodeString(n)}`);
      // falls through (errorf never returns)
      case 'int':
        if (n.type === 'number' && n.isInt) return n.int64;
        this.errorf(`expected integer; found ${nodeString(n)}`);
      // falls through (errorf never returns)
      case 'string':
        if (n.type === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
      // falls through (errorf never returns)
      case 'any': case 'reflect':
        if (n.type === 'bool') return n.val;
        if (n.type === 'number') return this.idealConstant(n);
        if (n.type === 'string') return n.text;
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ}`);
  }

  private printValue(n: Node, v: unknown): void {
    this.at(n);
    if (v === undefined || v === null) { this.out.push('<no value>'); return; }
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type ${typeName(v)}`);
    this.out.push(sprint(v));
  }
}
