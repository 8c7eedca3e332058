// Types of launch.mjs for the TypeScript that imports it (the benchmarks check the bundle is fresh).
/** The bundle of `name` under `dir` (default: this checkout) when no TypeScript source there is newer; else undefined. */
export function freshBundle(name: string, dir?: string): string | undefined;
export function launch(name: string, source: string): Promise<void>;
