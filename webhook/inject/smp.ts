// Kubernetes strategic merge patch (apply side), as k8s.io/apimachinery's
// StrategicMergeMapPatchUsingLookupPatchMeta applies it: lists merged by their patchMergeKey
// (containers by name, ports by containerPort...), `$patch: replace|delete|merge`,
// `$retainKeys`, `$setElementOrder/`, `$deleteFromPrimitiveList/`, nulls deleting keys, and the
// same ordering of merged lists (patch items first, server-only items interleaved by their
// original order). Istio overlays each rendered injection template onto the pod this way.

import { lookupPatchMeta, patchSchema, type PatchSchema } from './k8s/types.js';

export class PatchError extends Error {}

type Obj = Record<string, unknown>;

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList';
const SET_ORDER = '$setElementOrder';

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go reflect kind of a decoded JSON value. */
function kind(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  return typeof v; // number (float64), string, boolean
}

function goString(v: unknown): string {
  return JSON.stringify(v);
}

/** Applies `patch` over `original` (both are consumed: pass copies). */
export function strategicMerge(original: Obj, patch: Obj, schema: PatchSchema): Obj {
  return mergeMap(original, patch, schema);
}

/** Applies a strategic merge patch to an object of a Kubernetes type (e.g. `core.Pod`). */
export function strategicMergeType(type: string, original: Obj, patch: Obj): Obj {
  return mergeMap(structuredClone(original), structuredClone(patch), patchSchema(type));
}

function handleDirectiveInMergeMap(directive: unknown, patch: Obj): Obj {
  if (directive === 'replace') {
    delete patch[DIRECTIVE];
    return patch;
  }
  if (directive === 'delete') return {};
  throw new PatchError(`Unknown patch type: ${String(directive)} in map: ${goString(patch)}`);
}

function retainKeysStrategy(strategies: string[]): string {
  if (strategies.length === 0) return '';
  if (strategies.length === 1) return strategies[0] === 'retainKeys' ? '' : strategies[0];
  if (strategies.length === 2 && strategies.includes('retainKeys')) return strategies.find(s => s !== 'retainKeys') ?? '';
  throw new PatchError(`unexpected patch strategy: ${strategies.join(',')}`);
}

function applyRetainKeys(original: Obj, patch: Obj): void {
  if (!(RETAIN_KEYS in patch)) return;
  const list = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(list)) throw new PatchError('invalid patch: the $retainKeys directive must be a list');
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_PRIMITIVE) || k.startsWith(SET_ORDER)) continue;
    if (!keep.has(k)) throw new PatchError('invalid patch: all fields in the patch must be present in the $retainKeys list');
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

function removeDirectives(v: unknown): [unknown, boolean] {
  if (v === null || v === undefined) return [v, true];
  if (isObj(v)) {
    if (DIRECTIVE in v) return [null, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]);
      if (keep) v[k] = nv;
      else delete v[k];
    }
    return [v, true];
  }
  if (Array.isArray(v)) {
    const res: unknown[] = [];
    for (const x of v) {
      const [nx, keep] = removeDirectives(x);
      if (keep) res.push(nx);
    }
    return [res, true];
  }
  return [v, true];
}

function discardNulls(v: unknown): void {
  if (isObj(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNulls(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) discardNulls(x);
  }
}

function setValue(original: Obj, k: string, patchV: unknown): void {
  const [v, keep] = removeDirectives(patchV);
  if (keep) original[k] = v;
  else delete original[k];
}

function mergeMap(original: Obj | null, patch: Obj, schema: PatchSchema): Obj {
  if (DIRECTIVE in patch) return handleDirectiveInMergeMap(patch[DIRECTIVE], patch);
  const orig: Obj = original ?? {};
  applyRetainKeys(orig, patch);
  mergeSetElementOrder(orig, patch, schema);
  for (let [k, patchV] of Object.entries(patch)) {
    let isDeleteList = false;
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const i = k.indexOf('/');
      if (i < 0 || k.slice(0, i) !== DELETE_PRIMITIVE) throw new PatchError('invalid patch format for primitive list');
      k = k.slice(i + 1);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete orig[k];
      continue;
    }
    if (!(k in orig) || kind(orig[k]) !== kind(patchV)) {
      if (!isDeleteList) {
        discardNulls(patchV);
        setValue(orig, k, patchV);
      }
      continue;
    }
    const meta = lookupPatchMeta(schema, k);
    const strategy = retainKeysStrategy(meta.strategies);
    switch (kind(orig[k])) {
      case 'map':
        orig[k] = strategy === 'replace' ? patchV : mergeMap(orig[k] as Obj, patchV as Obj, meta.schema);
        break;
      case 'slice':
        if (strategy === 'merge' || isDeleteList) {
          orig[k] = mergeSlice(orig[k] as unknown[], patchV as unknown[], meta.schema, meta.mergeKey, isDeleteList);
        } else {
          orig[k] = patchV;
        }
        break;
      default:
        setValue(orig, k, patchV);
    }
  }
  return orig;
}

function elementKind(...lists: unknown[][]): string {
  let prev: string | undefined;
  for (const l of lists) {
    for (const v of l) {
      const k = kind(v);
      if (prev === undefined) {
        prev = k;
        if (k === 'slice') throw new PatchError('lists of lists are not supported');
      } else if (prev !== k) {
        throw new PatchError(`list element types are not identical: ${goString(lists)}`);
      }
    }
  }
  if (prev === undefined) throw new PatchError('no elements in any of the given slices');
  return prev;
}

function mergeKeyValue(item: unknown, mergeKey: string, k: string): unknown {
  if (k !== 'map') return item;
  return isObj(item) ? item[mergeKey] : undefined;
}

function indexIn(list: unknown[], item: unknown, mergeKey: string, k: string): number {
  const want = mergeKeyValue(item, mergeKey, k);
  return list.findIndex(x => mergeKeyValue(x, mergeKey, k) === want);
}

function findByKey(list: unknown[], mergeKey: string, value: unknown): number {
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    if (!isObj(x)) throw new PatchError(`value for key ${i} is not a map`);
    if (mergeKey in x && x[mergeKey] === value) return i;
  }
  return -1;
}

function mergeSlice(original: unknown[], patch: unknown[], schema: PatchSchema, mergeKey: string, isDeleteList: boolean): unknown[] {
  if (original.length === 0 && patch.length === 0) return original;
  const k = elementKind(original, patch);
  let merged: unknown[];
  if (k !== 'map') {
    if (isDeleteList) {
      const del = new Set(patch);
      return original.filter(x => !del.has(x));
    }
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (!mergeKey) throw new PatchError('cannot merge lists without merge key');
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements([...original], patch, mergeKey, schema);
  }
  const [patchItems, serverOnly] = partition(merged, patch, mergeKey, k);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, k);
}

/** Go's in-place dedup: a duplicate is replaced by the last element (order is not kept). */
function deduplicateScalars(s: unknown[]): unknown[] {
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length];
        s = s.slice(0, length);
        length--;
        j--;
      }
    }
  }
  return s;
}

function mergeSliceWithSpecialElements(original: unknown[], patch: unknown[], mergeKey: string): [unknown[], unknown[]] {
  const rest: unknown[] = [];
  let replace = false;
  for (const v of patch) {
    const m = v as Obj;
    if (!(DIRECTIVE in m)) { rest.push(v); continue; }
    switch (m[DIRECTIVE]) {
      case 'delete': {
        if (!(mergeKey in m)) throw new PatchError(`map: ${goString(m)} does not contain declared merge key: ${mergeKey}`);
        original = original.filter(x => !(isObj(x) && x[mergeKey] === m[mergeKey]));
        break;
      }
      case 'replace': replace = true; break;
      case 'merge': throw new PatchError('merging lists cannot yet be specified in the patch');
      default: throw new PatchError(`Unknown patch type: ${String(m[DIRECTIVE])} in map: ${goString(m)}`);
    }
  }
  return replace ? [rest, []] : [original, rest];
}

function mergeSliceWithoutSpecialElements(original: unknown[], patch: unknown[], mergeKey: string, schema: PatchSchema): unknown[] {
  for (const v of patch) {
    const m = v as Obj;
    if (!(mergeKey in m)) throw new PatchError(`map: ${goString(m)} does not contain declared merge key: ${mergeKey}`);
    const i = findByKey(original, mergeKey, m[mergeKey]);
    if (i >= 0) original[i] = mergeMap(original[i] as Obj, m, schema);
    else original.push(v);
  }
  return original;
}

function partition(merged: unknown[], by: unknown[], mergeKey: string, k: string): [unknown[], unknown[]] {
  const inPatch: unknown[] = [], serverOnly: unknown[] = [];
  if (k !== 'map') {
    const set = new Set(by);
    for (const v of merged) (set.has(v) ? inPatch : serverOnly).push(v);
    return [inPatch, serverOnly];
  }
  for (const v of merged) {
    if (!isObj(v)) throw new PatchError(`value ${goString(v)} is not a map`);
    if (!(mergeKey in v)) throw new PatchError(`map: ${goString(v)} does not contain declared merge key: ${mergeKey}`);
    (findByKey(by, mergeKey, v[mergeKey]) >= 0 ? inPatch : serverOnly).push(v);
  }
  return [inPatch, serverOnly];
}

/** sort.SliceStable (insertion sort in blocks, as Go) with normalizeSliceOrder's comparator. */
function normalizeSliceOrder(toSort: unknown[], order: unknown[], mergeKey: string, k: string): unknown[] {
  const toDelete: unknown[] = [];
  let items = toSort;
  if (k === 'map') {
    items = [];
    for (const v of toSort) {
      if (isObj(v) && v[DIRECTIVE] === 'delete') toDelete.push(v);
      else items.push(v);
    }
  }
  const less = (a: unknown, b: unknown): boolean => {
    const ia = indexIn(order, a, mergeKey, k);
    if (ia >= 0) {
      const ib = indexIn(order, b, mergeKey, k);
      if (ib >= 0) return ia < ib;
    }
    return true;
  };
  const data = [...items];
  stableSort(data, less);
  return [...data, ...toDelete];
}

/** Go's sort.Stable algorithm (insertion-sorted blocks of 20, then SymMerge), comparator-exact. */
function stableSort(data: unknown[], less: (a: unknown, b: unknown) => boolean): void {
  const n = data.length;
  const lessIdx = (i: number, j: number): boolean => less(data[i], data[j]);
  const swap = (i: number, j: number): void => { const t = data[i]; data[i] = data[j]; data[j] = t; };
  const insertion = (a: number, b: number): void => {
    for (let i = a + 1; i < b; i++) for (let j = i; j > a && lessIdx(j, j - 1); j--) swap(j, j - 1);
  };
  const swapRange = (a: number, b: number, n2: number): void => { for (let i = 0; i < n2; i++) swap(a + i, b + i); };
  const rotate = (a: number, m: number, b: number): void => {
    let i = m - a, j = b - m;
    while (i !== j) {
      if (i > j) { swapRange(m - i, m, j); i -= j; } else { swapRange(m - i, m + j - i, i); j -= i; }
    }
    swapRange(m - i, m, i);
  };
  const symMerge = (a: number, m: number, b: number): void => {
    if (m - a === 1) {
      let i = m, j = b;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (lessIdx(h, a)) i = h + 1; else j = h;
      }
      for (let k = a; k < i - 1; k++) swap(k, k + 1);
      return;
    }
    if (b - m === 1) {
      let i = a, j = m;
      while (i < j) {
        const h = (i + j) >>> 1;
        if (!lessIdx(m, h)) i = h + 1; else j = h;
      }
      for (let k = m; k > i; k--) swap(k, k - 1);
      return;
    }
    const mid = (a + b) >>> 1;
    const nn = mid + m;
    let start: number, r: number;
    if (m > mid) { start = nn - b; r = mid; } else { start = a; r = m; }
    const p = nn - 1;
    while (start < r) {
      const c = (start + r) >>> 1;
      if (!lessIdx(p - c, c)) start = c + 1; else r = c;
    }
    const end = nn - start;
    if (start < m && m < end) rotate(start, m, end);
    if (a < start && start < mid) symMerge(a, start, mid);
    if (mid < end && end < b) symMerge(mid, end, b);
  };
  let blockSize = 20;
  let a = 0, b = blockSize;
  while (b <= n) { insertion(a, b); a = b; b += blockSize; }
  insertion(a, n);
  while (blockSize < n) {
    a = 0; b = 2 * blockSize;
    while (b <= n) { symMerge(a, a + blockSize, b); a = b; b += 2 * blockSize; }
    const m = a + blockSize;
    if (m < n) symMerge(a, m, n);
    blockSize *= 2;
  }
}

function normalizeElementOrder(patch: unknown[], serverOnly: unknown[], patchOrder: unknown[], serverOrder: unknown[],
  mergeKey: string, k: string): unknown[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, k);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, k);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, k);
}

function mergeSortedSlice(left: unknown[], right: unknown[], serverOrder: unknown[], mergeKey: string, k: string): unknown[] {
  const out: unknown[] = [];
  let i = 0, j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = indexIn(serverOrder, left[i], mergeKey, k);
      const ri = indexIn(serverOrder, right[j], mergeKey, k);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

function mergeSetElementOrder(original: Obj, patch: Obj, schema: PatchSchema): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw new PatchError('invalid patch format for $setElementOrder list');
    const i = key.indexOf('/');
    if (i < 0 || key.slice(0, i) !== SET_ORDER) throw new PatchError('invalid patch format for $setElementOrder list');
    const originalKey = key.slice(i + 1);
    const foundOriginal = originalKey in original, foundPatch = originalKey in patch;
    const originalList = foundOriginal ? original[originalKey] : undefined;
    const patchList = foundPatch ? patch[originalKey] : undefined;
    if (foundOriginal && !Array.isArray(originalList)) throw new PatchError(`invalid type for ${originalKey}`);
    if (foundPatch && !Array.isArray(patchList)) throw new PatchError(`invalid type for ${originalKey}`);
    const meta = lookupPatchMeta(schema, originalKey);
    const strategy = retainKeysStrategy(meta.strategies);
    let merged: unknown[];
    if (foundOriginal && !foundPatch) merged = originalList as unknown[];
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchList)[0] as unknown[];
    else if (foundOriginal && foundPatch) {
      merged = strategy === 'merge'
        ? mergeSlice(originalList as unknown[], patchList as unknown[], meta.schema, meta.mergeKey, false)
        : patchList as unknown[];
    } else continue;
    const k = elementKind((originalList as unknown[] | undefined) ?? [], (patchList as unknown[] | undefined) ?? []);
    const [inPatch, serverOnly] = partition(merged, order, meta.mergeKey, k);
    original[originalKey] = normalizeElementOrder(inPatch, serverOnly, order, (originalList as unknown[] | undefined) ?? [], meta.mergeKey, k);
    delete patch[originalKey];
  }
}
