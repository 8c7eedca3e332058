// What a client holds of one type, and what differs between that and a newly generated list.
// Proxies of one view hold the same shared lists, so a diff is computed once per pair of lists
// and its result is itself a shared part (encoded once, see encode.ts).
import { resourceParts, type NamedResource } from '../networking/generator.js';
import type { Held } from './connection.js';
import { contentHash } from './encode.js';

export function heldHashes(held: Held): Map<string, string> {
  if ('map' in held) return held.map;
  const m = new Map<string, string>();
  for (const part of held.parts) for (const r of part) m.set(r.name, contentHash(r.resource));
  return m;
}

/** What a client holds once it has `resources`: references to their shared parts. */
export function holding(resources: readonly NamedResource[]): Held {
  return { parts: partsOf(resources) };
}

/**
 * What differs between what a client holds and a new list: resources new or changed (as parts,
 * shared between proxies of one view where possible), and names no longer present.
 */
export interface Diff {
  changed: readonly (readonly NamedResource[])[];
  missing: readonly string[];
}

const NO_DIFF: Diff = { changed: [], missing: [] };

export function changedCount(d: Diff): number {
  let n = 0;
  for (const p of d.changed) n += p.length;
  return n;
}

/** Same names in the same order: the changed resources by position; undefined when names differ. */
function alignedDiff(before: readonly NamedResource[], after: readonly NamedResource[]): Diff | undefined {
  if (before === after) return NO_DIFF;
  if (before.length !== after.length) return undefined;
  for (let i = 0; i < after.length; i++) if (before[i]!.name !== after[i]!.name) return undefined;
  const changed = after.filter((r, i) => r !== before[i] && !sameBytes(r.resource, before[i]!.resource));
  return changed.length ? { changed: [changed], missing: [] } : NO_DIFF;
}

/** Whether two resources encode the same; comparing bytes costs less than hashing them. */
function sameBytes(a: NamedResource['resource'], b: NamedResource['resource']): boolean {
  return a === b || (a.typeUrl === b.typeUrl && a.value.length === b.value.length && Buffer.compare(a.value, b.value) === 0);
}

/**
 * Proxies that share a view hold the same lists and get the same new ones: a diff is computed
 * once per pair of lists, not once per connection (and its result is one shared part).
 */
const diffs = new WeakMap<readonly NamedResource[], { next: readonly NamedResource[]; diff: Diff | undefined }>();

function cachedAlignedDiff(before: readonly NamedResource[], after: readonly NamedResource[]): Diff | undefined {
  const cached = diffs.get(before);
  if (cached?.next === after) return cached.diff;
  const d = alignedDiff(before, after);
  diffs.set(before, { next: after, diff: d });
  return d;
}

export function partsOf(resources: readonly NamedResource[]): readonly (readonly NamedResource[])[] {
  return resourceParts(resources) ?? [resources];
}

export function diff(held: Held, resources: readonly NamedResource[]): Diff {
  const next = partsOf(resources);
  if ('parts' in held) {
    // Nothing held yet (a new stream): everything is new, in its shared parts.
    if (held.parts.every((p) => p.length === 0)) return { changed: next, missing: [] };
    if (next.length === held.parts.length) {
      const changed: (readonly NamedResource[])[] = [];
      let aligned = true;
      for (let i = 0; i < next.length && aligned; i++) {
        const d = cachedAlignedDiff(held.parts[i]!, next[i]!);
        if (d) changed.push(...d.changed);
        else aligned = false;
      }
      if (aligned) return changed.length ? { changed, missing: [] } : NO_DIFF;
    }
  }
  const m = heldHashes(held);
  const present = new Set<string>();
  const changed: NamedResource[] = [];
  for (const r of resources) {
    present.add(r.name);
    if (m.get(r.name) !== contentHash(r.resource)) changed.push(r);
  }
  const missing: string[] = [];
  for (const n of m.keys()) if (!present.has(n)) missing.push(n);
  return { changed: changed.length ? [changed] : [], missing };
}
