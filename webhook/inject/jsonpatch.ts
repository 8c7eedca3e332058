// RFC 6902 JSON Patch: a diff generator (what the webhook answers with) and an applier (what the
// API server does with it; used by kube-inject, tests and the conformance runner).

export interface PatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export class JsonPatchError extends Error {}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObj(a)) {
    if (!isObj(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every(k => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function escape(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The operations turning `from` into `to` (both JSON values). */
export function createPatch(from: unknown, to: unknown): PatchOp[] {
  const ops: PatchOp[] = [];
  diff(from, to, '', ops);
  return ops;
}

function diff(a: unknown, b: unknown, path: string, ops: PatchOp[]): void {
  if (deepEqual(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of Object.keys(a)) {
      if (!Object.prototype.hasOwnProperty.call(b, k)) ops.push({ op: 'remove', path: `${path}/${escape(k)}` });
    }
    for (const [k, v] of Object.entries(b)) {
      const p = `${path}/${escape(k)}`;
      if (!Object.prototype.hasOwnProperty.call(a, k)) ops.push({ op: 'add', path: p, value: v });
      else diff(a[k], v, p, ops);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    diffArrays(a, b, path, ops);
    return;
  }
  ops.push({ op: 'replace', path: path === '' ? '' : path, value: b });
}

/**
 * Arrays: an LCS over equal elements keeps unchanged items in place; between matches, items are
 * changed pairwise (recursively, so a modified container becomes a few field-level operations),
 * then the surplus is added or removed.
 */
function diffArrays(a: unknown[], b: unknown[], path: string, ops: PatchOp[]): void {
  const n = a.length, m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = deepEqual(a[i], b[j]) ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  // Matched pairs.
  const pairs: [number, number][] = [];
  for (let i = 0, j = 0; i < n && j < m;) {
    if (deepEqual(a[i], b[j])) { pairs.push([i, j]); i++; j++; } else if (lcs[i + 1][j] >= lcs[i][j + 1]) i++; else j++;
  }
  pairs.push([n, m]);
  let offset = 0; // index shift of `a` positions in the array being patched
  let ai = 0, bj = 0;
  for (const [pi, pj] of pairs) {
    const oldRun = pi - ai, newRun = pj - bj;
    const common = Math.min(oldRun, newRun);
    for (let k = 0; k < common; k++) diff(a[ai + k], b[bj + k], `${path}/${ai + k + offset}`, ops);
    if (newRun > common) {
      for (let k = common; k < newRun; k++) ops.push({ op: 'add', path: `${path}/${ai + k + offset}`, value: b[bj + k] });
      offset += newRun - common;
    } else if (oldRun > common) {
      for (let k = oldRun - 1; k >= common; k--) ops.push({ op: 'remove', path: `${path}/${ai + k + offset}` });
      offset -= oldRun - common;
    }
    ai = pi + 1;
    bj = pj + 1;
  }
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new JsonPatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path.slice(1).split('/').map(unescape);
}

function arrayIndex(token: string, len: number, forAdd: boolean): number {
  if (forAdd && token === '-') return len;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPatchError(`invalid array index ${JSON.stringify(token)}`);
  const i = Number(token);
  if (i > len || (!forAdd && i === len)) throw new JsonPatchError(`array index ${i} out of bounds`);
  return i;
}

/** Applies operations to a copy of `doc`; throws JsonPatchError when one does not apply. */
export function applyPatch<T>(doc: T, ops: PatchOp[]): T {
  let root: unknown = structuredClone(doc);
  for (const op of ops) root = applyOp(root, op);
  return root as T;
}

function getAt(root: unknown, tokens: string[]): unknown {
  let cur = root;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false)];
    else if (isObj(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw new JsonPatchError(`path /${tokens.map(escape).join('/')} does not exist`);
  }
  return cur;
}

function applyOp(root: unknown, op: PatchOp): unknown {
  const tokens = parsePointer(op.path);
  switch (op.op) {
    case 'add': return add(root, tokens, structuredClone(op.value));
    case 'remove': return remove(root, tokens);
    case 'replace': {
      if (tokens.length === 0) return structuredClone(op.value);
      getAt(root, tokens);
      const parent = getAt(root, tokens.slice(0, -1));
      const last = tokens[tokens.length - 1];
      if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, false)] = structuredClone(op.value);
      else (parent as Record<string, unknown>)[last] = structuredClone(op.value);
      return root;
    }
    case 'move': case 'copy': {
      if (op.from === undefined) throw new JsonPatchError(`${op.op} needs "from"`);
      const fromTokens = parsePointer(op.from);
      const value = structuredClone(getAt(root, fromTokens));
      if (op.op === 'move') root = remove(root, fromTokens);
      return add(root, tokens, value);
    }
    case 'test':
      if (!deepEqual(getAt(root, tokens), op.value)) throw new JsonPatchError(`test failed at ${op.path}`);
      return root;
    default:
      throw new JsonPatchError(`unknown operation ${JSON.stringify((op as { op: unknown }).op)}`);
  }
}

function add(root: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const parent = getAt(root, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, true), 0, value);
  else if (isObj(parent)) parent[last] = value;
  else throw new JsonPatchError(`cannot add to a non-container at ${tokens.join('/')}`);
  return root;
}

function remove(root: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) throw new JsonPatchError('cannot remove the document root');
  getAt(root, tokens);
  const parent = getAt(root, tokens.slice(0, -1));
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(last, parent.length, false), 1);
  else delete (parent as Record<string, unknown>)[last];
  return root;
}
