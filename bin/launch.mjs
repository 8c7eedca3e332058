// Starts an entry point from its bundle in dist/ when that bundle is at least as new as every
// TypeScript source, else from the sources through tsx: an edited checkout never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_DIRS = ['pilot', 'citadel', 'webhook', 'cli', 'gen'];

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** The bundle of `name` under `dir` when no TypeScript source there is newer; else undefined. */
export function freshBundle(name, dir = root) {
  const bundle = join(dir, 'dist', `${name}.mjs`);
  if (process.env.ISTHMUS_FROM_SOURCE || !existsSync(bundle)) return undefined;
  const built = statSync(bundle).mtimeMs;
  for (const sub of SOURCE_DIRS) if (existsSync(join(dir, sub)) && newestSource(join(dir, sub)) > built) return undefined;
  return bundle;
}

export async function launch(name, source) {
  const bundle = freshBundle(name);
  if (bundle) {
    await import(pathToFileURL(bundle).href);
    return;
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, source)).href);
}
