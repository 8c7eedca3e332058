// Parse tree of a template, with Go's String() forms (used in error messages).

import { quote } from './fmt.js';

/** The template text a node belongs to, for error positions. */
export interface TreeInfo { name: string; parseName: string; text: string }

interface Base { pos: number; tree: TreeInfo }

export interface TextNode extends Base { type: 'text'; text: string }
export interface ActionNode extends Base { type: 'action'; line: number; pipe: PipeNode }
export interface PipeNode extends Base { type: 'pipe'; line: number; isAssign: boolean; decl: VariableNode[]; cmds: CommandNode[] }
export interface CommandNode extends Base { type: 'command'; args: ArgNode[] }
export interface IdentifierNode extends Base { type: 'identifier'; ident: string }
export interface VariableNode extends Base { type: 'variable'; ident: string[] }
export interface DotNode extends Base { type: 'dot' }
export interface NilNode extends Base { type: 'nil' }
export interface FieldNode extends Base { type: 'field'; ident: string[] }
export interface ChainNode extends Base { type: 'chain'; node: ArgNode; field: string[] }
export interface BoolNode extends Base { type: 'bool'; val: boolean }
export interface NumberNode extends Base {
  type: 'number'; text: string;
  isInt: boolean; isUint: boolean; isFloat: boolean; isComplex: boolean;
  int64: bigint; uint64: bigint; float64: number;
}
export interface StringNode extends Base { type: 'string'; quoted: string; text: string }
export interface ListNode extends Base { type: 'list'; nodes: Node[] }
export interface BranchNode extends Base {
  type: 'if' | 'range' | 'with'; line: number; pipe: PipeNode; list: ListNode; elseList: ListNode | null;
}
export interface TemplateNode extends Base { type: 'template'; line: number; name: string; pipe: PipeNode | null }
export interface BreakNode extends Base { type: 'break' | 'continue'; line: number }
export interface EndNode extends Base { type: 'end' | 'else'; line: number }

export type ArgNode =
  | IdentifierNode | VariableNode | DotNode | NilNode | FieldNode | ChainNode | BoolNode | NumberNode
  | StringNode | PipeNode;
export type Node =
  | TextNode | ActionNode | CommandNode | ArgNode | ListNode | BranchNode | TemplateNode | BreakNode | EndNode;

export function nodeString(n: Node): string {
  switch (n.type) {
    case 'text': return n.text;
    case 'action': return '{{' + nodeString(n.pipe) + '}}';
    case 'pipe': {
      let s = '';
      if (n.decl.length) s = n.decl.map(nodeString).join(', ') + ' := ';
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map(a => (a.type === 'pipe' ? '(' + nodeString(a) + ')' : nodeString(a))).join(' ');
    case 'identifier': return n.ident;
    case 'variable': return n.ident.join('.');
    case 'dot': return '.';
    case 'nil': return 'nil';
    case 'field': return n.ident.map(f => '.' + f).join('');
    case 'chain': {
      const base = n.node.type === 'pipe' ? '(' + nodeString(n.node) + ')' : nodeString(n.node);
      return base + n.field.map(f => '.' + f).join('');
    }
    case 'bool': return n.val ? 'true' : 'false';
    case 'number': return n.text;
    case 'string': return n.quoted;
    case 'list': return n.nodes.map(nodeString).join('');
    case 'if': case 'range': case 'with': {
      let s = `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}`;
      if (n.elseList) s += '{{else}}' + nodeString(n.elseList);
      return s + '{{end}}';
    }
    case 'template':
      return n.pipe ? `{{template ${quote(n.name)} ${nodeString(n.pipe)}}}` : `{{template ${quote(n.name)}}}`;
    case 'break': return '{{break}}';
    case 'continue': return '{{continue}}';
    case 'end': return '{{end}}';
    case 'else': return '{{else}}';
  }
}

/** Go's Tree.ErrorContext: "name:line:col" (col is a 0-based byte offset) and the node's text. */
export function errorContext(n: Node): { location: string; context: string; line: number; col: number } {
  const text = n.tree.text.slice(0, n.pos);
  const nl = text.lastIndexOf('\n');
  const col = Buffer.byteLength(text.slice(nl + 1), 'utf8');
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) line++;
  return { location: `${n.tree.parseName}:${line}:${col}`, context: nodeString(n), line, col };
}

/** Whether a tree is empty of everything but spaces (Go's parse.IsEmptyTree). */
export function isEmptyTree(n: Node | null): boolean {
  if (!n) return true;
  if (n.type === 'list') return n.nodes.every(isEmptyTree);
  if (n.type === 'text') return n.text.trim() === '' && !/[^ \t\r\n\v\f\u0085\u00a0]/.test(n.text);
  return false;
}
