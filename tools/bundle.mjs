// Bundles the long-running entry points into dist/ (run by `npm run prepare`, after the protobuf
// code generation). Running plain JavaScript instead of transpiling TypeScript at start-up saves
// isthmusd about 60 MB of resident memory and seconds of start time; bin/ falls back to the
// TypeScript sources whenever a bundle is missing or older than them (see bin/launch.mjs).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

const entries = {
  isthmusd: 'pilot/cmd/isthmusd.ts',
  isthmusctl: 'cli/isthmusctl.ts',
};

await build({
  absWorkingDir: root,
  entryPoints: entries,
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // npm packages stay where npm put them; only the project's own code is bundled.
  packages: 'external',
  logLevel: 'warning',
});
