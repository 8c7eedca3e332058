// `npm run conformance -- <suite> [--cases FILE] [--testdata ROOT] [...]`, or `all --check-floors`.
// Prints one line per failing case and `N passed, M failed` as its last line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { PROJECT_ROOT } from './data.js';
import { SUITES } from './suites/index.js';
import type { SuiteResult } from './suite.js';

function print(name: string, r: SuiteResult, prefix: boolean): void {
  const tag = prefix ? `[${name}] ` : '';
  if (r.skipped) {
    console.log(`${tag}skipped: ${r.skipped}`);
    return;
  }
  for (const f of r.failures) console.log(`${tag}FAIL ${f.name}: ${f.why}`);
}

const program = new Command('conformance')
  .argument('<suite>', `one of: ${[...Object.keys(SUITES), 'all'].join(', ')}`)
  .option('--cases <file>', 'case file (default: the shared one)')
  .option('--testdata <root>', 'Istio test data root (default: $ISTIO_TESTDATA or ../shared/istio)')
  .option('--routes <file>', 'simulate: route-table file')
  .option('--check-floors', 'with `all`: fail when a suite passes fewer cases than conformance/floors.json', false)
  .option('-v, --verbose', 'also list passing cases', false)
  .action(async (suiteName: string, o: { cases?: string; testdata?: string; routes?: string; checkFloors: boolean; verbose: boolean }) => {
    const opts = { cases: o.cases, testdata: o.testdata, extra: { routes: o.routes }, verbose: o.verbose };
    if (suiteName !== 'all') {
      const suite = SUITES[suiteName];
      if (!suite) throw new Error(`unknown suite ${JSON.stringify(suiteName)}; known: ${Object.keys(SUITES).join(', ')}`);
      const r = await suite.run(opts);
      print(suite.name, r, false);
      console.log(`${r.passed} passed, ${r.failed} failed`);
      return;
    }
    const floors = JSON.parse(readFileSync(join(PROJECT_ROOT, 'conformance', 'floors.json'), 'utf8')) as Record<string, number>;
    let below = 0;
    let passed = 0;
    let failed = 0;
    for (const suite of Object.values(SUITES)) {
      const r = await suite.run({ ...opts, cases: undefined });
      print(suite.name, r, true);
      const floor = floors[suite.name] ?? 0;
      const status = r.skipped ? 'skipped' : r.passed < floor ? `BELOW FLOOR ${floor}` : `floor ${floor}`;
      console.log(`[${suite.name}] ${r.passed} passed, ${r.failed} failed (${status})`);
      if (!r.skipped && r.passed < floor) below++;
      passed += r.passed;
      failed += r.failed;
    }
    console.log(`${passed} passed, ${failed} failed`);
    if (o.checkFloors && below) {
      console.error(`${below} suite(s) below their floor in conformance/floors.json`);
      process.exitCode = 1;
    }
  });

try {
  await program.parseAsync();
} catch (e) {
  console.error(`conformance: ${(e as Error).message}`);
  process.exitCode = 2;
}
