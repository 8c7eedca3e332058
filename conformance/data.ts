// Where conformance data lives: Istio's own test data (ISTIO_TESTDATA, default ../shared/istio)
// and the indexes derived from it (ISTHMUS_CONFORMANCE_DATA, default ../shared/conformance).
// Both are read in place, never copied into the repository.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export function istioTestdata(override?: string): string {
  return resolve(override ?? process.env.ISTIO_TESTDATA ?? resolve(PROJECT_ROOT, '..', 'shared', 'istio'));
}

export function conformanceData(override?: string): string {
  return resolve(override ?? process.env.ISTHMUS_CONFORMANCE_DATA ?? resolve(PROJECT_ROOT, '..', 'shared', 'conformance'));
}

export function dataPresent(...paths: string[]): boolean {
  return paths.every((p) => existsSync(p));
}
