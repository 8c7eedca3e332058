// Interned subscriptions: proxies of one kind subscribe to the same names (thousands of EDS
// clusters each), so equal name sets are kept once and shared by every watch that holds them.
// A shared set is never mutated: changes build a new set, which is interned again.
import { createHash } from 'node:crypto';

export type Names = ReadonlySet<string>;

interface Interned {
  /** Identifies the set's content: equal ids, equal names. */
  id: string;
  /** The names in first-seen order, handed to generators. */
  list: readonly string[];
}

const info = new WeakMap<Names, Interned>();
const table = new Map<string, WeakRef<Set<string>>>();
const cleanup = new FinalizationRegistry<string>((id) => {
  if (!table.get(id)?.deref()) table.delete(id);
});

/** Recently interned sets by size: a request usually repeats one of them, found without hashing. */
const recent = new Map<number, Names[]>();
const RECENT_PER_SIZE = 8;

/** The shared set holding exactly `names` (order and duplicates do not matter). */
export function internNames(names: Iterable<string>): Names {
  const given = Array.isArray(names) ? (names as readonly string[]) : [...names];
  for (const candidate of recent.get(given.length) ?? []) if (sameNames(candidate, given)) return candidate;
  const list = [...new Set(given)];
  const id = list.length === 0 ? 'empty' : createHash('sha1').update([...list].sort().join('\n')).digest('base64url');
  const found = table.get(id)?.deref();
  if (found) {
    const same = recent.get(given.length) ?? [];
    if (!same.includes(found)) recent.set(given.length, [found, ...same.slice(0, RECENT_PER_SIZE - 1)]);
    return found;
  }
  const set = new Set(list);
  table.set(id, new WeakRef(set));
  cleanup.register(set, id);
  info.set(set, { id, list });
  const same = recent.get(given.length) ?? [];
  recent.set(given.length, [set, ...same.slice(0, RECENT_PER_SIZE - 1)]);
  return set;
}

export function namesId(names: Names): string {
  return (info.get(names) ?? info.get(internNames(names))!).id;
}

export function namesList(names: Names): readonly string[] {
  return info.get(names)?.list ?? [...names];
}

/** Whether `set` holds exactly the names of `list` (as sent in a request). */
function sameNames(set: Names, list: readonly string[]): boolean {
  if (list.length < set.size) return false;
  // Clients repeat their list in the same order: compare with the interned order first.
  const known = info.get(set)?.list;
  if (known && known.length === list.length) {
    let i = 0;
    while (i < list.length && known[i] === list[i]) i++;
    if (i === list.length) return true;
  }
  for (const n of list) if (!set.has(n)) return false;
  return new Set(list).size === set.size;
}

/**
 * One wire encoding of each interned set (as a SotW request carried it): an ACK repeating those
 * bytes repeats the subscription, and is recognised without decoding thousands of names.
 */
const encodings = new WeakMap<Names, Buffer>();

export function encodingOf(names: Names): Buffer | undefined {
  return encodings.get(names);
}

function rememberEncoding(names: Names, bytes: Buffer): void {
  if (bytes.length && !encodings.has(names)) encodings.set(names, Buffer.from(bytes));
}

/** Encodings seen recently (a few per view of the mesh), to find a subscription again from its bytes alone. */
const recentEncodings: { bytes: Buffer; names: Names }[] = [];
const RECENT_ENCODINGS = 64;

/**
 * The interned set an encoded `repeated string` field holds: the first request of every proxy of
 * a view carries the same thousands of names, recognised by comparing bytes (memcmp) instead of
 * decoding and hashing them again. `decode` is called only for bytes not seen recently.
 */
export function namesFromEncoding(bytes: Buffer, decode: () => readonly string[]): Names {
  if (!bytes.length) return NO_NAMES;
  for (const e of recentEncodings) if (e.bytes.length === bytes.length && e.bytes.equals(bytes)) return e.names;
  const names = internNames(decode());
  rememberEncoding(names, bytes);
  // The set may have been remembered with another encoding (another order): keep these bytes.
  const remembered = encodings.get(names);
  recentEncodings.unshift({ bytes: remembered?.equals(bytes) ? remembered : Buffer.from(bytes), names });
  if (recentEncodings.length > RECENT_ENCODINGS) recentEncodings.pop();
  return names;
}

export const NO_NAMES: Names = internNames([]);
