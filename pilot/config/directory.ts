// The embedded config source: a directory of YAML/JSON files, watched for changes
// (like istiod's --configDir). Files are re-parsed only when their mtime or size changes.
import { readdir, readFile, stat } from 'node:fs/promises';
import { readdirSync, watch, type Dirent, type FSWatcher, type Stats } from 'node:fs';
import { join, relative } from 'node:path';
import type { Logger } from 'pino';
import { formatConfigError, parseYaml, type ConfigError, type ParseResult } from './parse.js';
import { keyOf, type Resource } from './resource.js';
import { MemoryConfigStore } from './store.js';

const CONFIG_FILE = /\.(ya?ml|json)$/i;

/** A config file by its path under the directory: YAML or JSON, nothing hidden on the way. */
function isConfigFile(relativePath: string): boolean {
  return CONFIG_FILE.test(relativePath) && !relativePath.split(/[\\/]/).some((part) => part.startsWith('.'));
}

interface FileState {
  mtimeMs: number;
  size: number;
  result: ParseResult;
  /** What is served from this file: the parse result plus last good versions kept for rejected resources. */
  served: Resource[];
}

/**
 * Nothing valid is lost to a bad edit: a resource whose new version is rejected keeps its last
 * good version, and a file that stops parsing as YAML keeps serving what it held before.
 */
function carryForward(prev: FileState | undefined, result: ParseResult): Resource[] {
  if (!prev) return result.resources;
  const served = [...result.resources];
  const present = new Set(served.map(keyOf));
  const syntaxBroken = result.errors.some((e) => e.kind === undefined);
  const rejected = new Set(result.errors.filter((e) => e.kind && e.name).map((e) => `${e.kind}/${e.namespace}/${e.name}`));
  for (const old of prev.served) {
    const key = keyOf(old);
    if (present.has(key)) continue;
    if (syntaxBroken || rejected.has(key)) {
      served.push(old);
      present.add(key);
      const reason = syntaxBroken ? 'file does not parse' : 'new version rejected';
      result.errors.push({ file: old.source?.file, line: old.source?.line, kind: old.kind, namespace: old.meta.namespace, name: old.meta.name, message: `${reason}; still serving the last good version` });
    }
  }
  return served;
}

export class DirectoryConfigSource {
  readonly store = new MemoryConfigStore();
  private readonly files = new Map<string, FileState>();
  /** One non-recursive watch per directory of the tree (see `watch`). */
  private readonly watchers = new Map<string, FSWatcher>();
  private settleMs = 50;
  private reloadTimer?: NodeJS.Timeout;
  private reloading: Promise<void> = Promise.resolve();
  /** Paths the watcher reported since the last reload, or a full rescan when it could not name one. */
  private pendingPaths = new Set<string>();
  private pendingFull = false;

  constructor(readonly dir: string, private readonly log?: Logger) {}

  /** Loads the directory once; resolves when the store holds its content. */
  async load(): Promise<void> {
    await this.reload();
  }

  /**
   * Starts watching; changes are reloaded after `settleMs` of quiet. Only the files the watcher
   * named are read again (a large directory is not listed on every edit); an event without a
   * name, or naming a directory, rescans everything.
   *
   * Each directory gets a watch of its own instead of one recursive watch: Node 20's recursive
   * watch on Linux stops reporting a file once it was replaced by a rename, which is how most
   * editors and tools save, so the second edit of a file went unnoticed. A directory's own watch
   * names whatever is renamed into it, every time.
   */
  watch(settleMs = 50): void {
    this.settleMs = settleMs;
    this.watchTree();
  }

  /** Whether `watch` was called (and `close` not since). */
  private get watching(): boolean {
    return this.watchers.size > 0;
  }

  close(): void {
    clearTimeout(this.reloadTimer);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /**
   * Watches every directory of the tree not watched yet, and stops watching those gone. A
   * directory found after watching began may have changed before its watch did: one more
   * rescan then picks that up.
   */
  private watchTree(): void {
    const started = this.watching;
    const dirs = new Set<string>();
    const walk = (dir: string) => {
      dirs.add(dir);
      let entries: Dirent[] = [];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) walk(join(dir, e.name));
    };
    walk(this.dir);
    for (const [dir, w] of this.watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, (_event, filename) => this.changed(dir, filename));
        // A directory removed under its watch: the next rescan lets it go.
        w.on('error', (err) => this.log?.debug({ err, dir }, 'config directory watch ended'));
        this.watchers.set(dir, w);
        if (started) this.changed(dir, null);
      } catch (err) {
        this.log?.error({ err, dir }, 'config directory watch failed');
      }
    }
  }

  private changed(dir: string, filename: string | Buffer | null): void {
    if (filename) this.pendingPaths.add(join(dir, filename.toString()));
    else this.pendingFull = true;
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(() => void this.reloadPending(), this.settleMs);
  }

  /** Re-scans the directory; serialized so overlapping events never interleave. */
  reload(): Promise<void> {
    return this.serialized(async () => {
      await this.scan();
    });
  }

  private reloadPending(): Promise<void> {
    const only = this.pendingFull ? undefined : [...this.pendingPaths];
    this.pendingPaths = new Set();
    this.pendingFull = false;
    return this.serialized(async () => {
      // A rescan (an event naming a directory, or none) may mean directories came or went.
      if (!(await this.scan(only)) && this.watching) this.watchTree();
    });
  }

  private serialized(run: () => Promise<void>): Promise<void> {
    this.reloading = this.reloading.then(run).catch((err) => {
      this.log?.error({ err, dir: this.dir }, 'config directory reload failed');
    });
    return this.reloading;
  }

  /**
   * The config files after a change to `only` (or after listing the directory), with the stat of
   * each file that may have changed; undefined when `only` cannot be applied on its own (it names
   * a directory, or something gone that was not a known file).
   */
  private async candidates(only?: string[]): Promise<{ paths: string[]; stats: Map<string, Stats | undefined> } | undefined> {
    if (!only) {
      const paths = (await listFiles(this.dir)).sort();
      // All at once: one await per file would cost an event-loop turn each, seconds in a large
      // directory while pushes keep the loop busy. (A file removed since the listing has no stat.)
      const infos = await Promise.all(paths.map((path) => stat(path).catch(() => undefined)));
      return { paths, stats: new Map(paths.map((p, i) => [p, infos[i]])) };
    }
    const infos = await Promise.all(only.map((path) => stat(path).catch(() => undefined)));
    const known = new Set(this.files.keys());
    const stats = new Map<string, Stats | undefined>();
    for (let i = 0; i < only.length; i++) {
      const path = only[i]!;
      const info = infos[i];
      if (info?.isDirectory() || (!info && !known.has(path))) return undefined;
      if (!info) known.delete(path);
      else if (info.isFile() && isConfigFile(relative(this.dir, path))) {
        known.add(path);
        stats.set(path, info);
      }
    }
    return { paths: [...known].sort(), stats };
  }

  /** Reloads `only` (or everything); returns whether `only` could be applied on its own. */
  private async scan(only?: string[]): Promise<boolean> {
    const partial = only ? await this.candidates(only) : undefined;
    const found = partial ?? (await this.candidates());
    const { paths, stats } = found!;
    const present = new Set(paths);
    for (const p of this.files.keys()) if (!present.has(p)) this.files.delete(p);

    const changed = [...stats].flatMap(([path, info]) => {
      const prev = this.files.get(path);
      return info && !(prev && prev.mtimeMs === info.mtimeMs && prev.size === info.size) ? [{ path, info }] : [];
    });
    const texts = await Promise.all(changed.map(({ path }) => readFile(path, 'utf8').catch(() => undefined)));
    const changedFiles: string[] = [];
    changed.forEach(({ path, info }, i) => {
      const text = texts[i];
      if (text === undefined) return;
      const result = parseYaml(text, { file: relative(process.cwd(), path) || path });
      this.files.set(path, { mtimeMs: info.mtimeMs, size: info.size, result, served: carryForward(this.files.get(path), result) });
      changedFiles.push(path);
    });

    const resources: Resource[] = [];
    const errors: ConfigError[] = [];
    const owner = new Map<string, string>();
    for (const path of paths) {
      const state = this.files.get(path);
      if (!state) continue;
      errors.push(...state.result.errors);
      for (const r of state.served) {
        const key = keyOf(r);
        const first = owner.get(key);
        if (first) {
          errors.push({
            file: r.source?.file,
            line: r.source?.line,
            kind: r.kind,
            namespace: r.meta.namespace,
            name: r.meta.name,
            message: `duplicate resource; keeping the one from ${first}`,
          });
          continue;
        }
        owner.set(key, r.source?.file ?? path);
        resources.push(r);
      }
    }
    // Only errors of files that changed are logged again, so a steady bad file logs once.
    const changedNames = new Set(changedFiles.map((p) => relative(process.cwd(), p) || p));
    for (const e of errors) {
      if (e.file && changedNames.has(e.file)) this.log?.warn({ file: e.file, kind: e.kind }, `rejected config: ${formatConfigError(e)}`);
    }
    this.store.replaceAll(resources, errors);
    return partial !== undefined;
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full)));
    else if (e.isFile() && CONFIG_FILE.test(e.name)) out.push(full);
  }
  return out;
}
