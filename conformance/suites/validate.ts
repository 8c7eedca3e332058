// `validate`: accept / reject (and warn) like Istio.
//
// Two sets of cases:
//  - a case file in the format of ../shared/conformance/validate/cases.json (rows of Istio's
//    validation test tables; file paths relative to the case file's folder). These are about
//    Istio's webhook rules, so they are checked with the rules alone (the CRD schema's
//    constraints are not applied; structure and types are): errors, error substrings and
//    warnings as the case says;
//  - every document of Istio's pkg/config/validation/testdata/crds/: a document with `_err`
//    must be rejected, one without must be accepted, by the whole pipeline (CRD schema
//    constraints and CEL rules, then Istio's rules), as the API server and webhook together do.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatConfigError, parseObject, parseYaml, readYamlDocuments, type ConfigError } from '../../pilot/config/parse.js';
import { conformanceData, istioTestdata } from '../data.js';
import { Tally, type Suite, type SuiteOptions, type SuiteResult } from '../suite.js';

interface ValidateCase {
  file: string;
  kind?: string;
  valid: boolean;
  /** A substring of one error; `*` or null: any error. */
  expectError?: string | null;
  /** A substring of one warning; `*`: any warning; null: no warning. */
  expectWarning?: string | null;
  istioTest?: string;
  istioCase?: string;
}

const describe = (e: ConfigError) => `${e.field ? `${e.field}: ` : ''}${e.message}`;
const list = (es: ConfigError[]) => es.map((e) => JSON.stringify(describe(e))).join(', ');

/** Checks one case file row; returns why it fails, or undefined. */
export function checkCase(c: ValidateCase, baseDir: string): string | undefined {
  const path = resolve(baseDir, c.file);
  if (!existsSync(path)) return `file ${c.file} not found`;
  // Istio's tests validate the spec with the metadata they were given: no namespace means "".
  const r = parseYaml(readFileSync(path, 'utf8'), { file: c.file, defaultNamespace: '', crdChecks: false });
  if (r.ignored.length) return `kind not supported: ${r.ignored.join(', ')}`;
  if (r.resources.length + (r.errors.length ? 1 : 0) === 0) return 'no resource in file';
  if (c.kind) {
    const kinds = new Set([...r.resources.map((x) => x.kind), ...r.errors.map((e) => e.kind ?? '')]);
    if (!kinds.has(c.kind)) return `expected a ${c.kind}, read ${[...kinds].join(', ')}`;
  }
  if (c.valid) {
    if (r.errors.length) return `expected valid, rejected: ${list(r.errors)}`;
  } else {
    if (!r.errors.length) return `expected invalid${c.expectError && c.expectError !== '*' ? ` (${JSON.stringify(c.expectError)})` : ''}, accepted`;
    if (c.expectError && c.expectError !== '*' && !r.errors.some((e) => describe(e).includes(c.expectError!))) {
      return `expected an error containing ${JSON.stringify(c.expectError)}, got ${list(r.errors)}`;
    }
  }
  const w = c.expectWarning;
  if (w === null || w === undefined) {
    if (r.warnings.length) return `expected no warning, got ${list(r.warnings)}`;
  } else if (w === '*') {
    if (!r.warnings.length) return 'expected a warning, got none';
  } else if (!r.warnings.some((x) => describe(x).includes(w))) {
    return `expected a warning containing ${JSON.stringify(w)}, got ${r.warnings.length ? list(r.warnings) : 'none'}`;
  }
  return undefined;
}

/** Checks one document of Istio's testdata/crds; returns why it fails, or undefined. */
export function checkCrdDocument(doc: Record<string, unknown>): string | undefined {
  const { _err: wantErr, ...obj } = doc;
  const parsed = parseObject(obj, 'default');
  if ('ignored' in parsed) return `kind not supported: ${parsed.ignored}`;
  if (wantErr !== undefined) {
    if ('resource' in parsed) return `expected rejection (${JSON.stringify(wantErr)}), accepted`;
    return undefined;
  }
  if ('errors' in parsed) return `expected valid, rejected: ${parsed.errors.map((e) => JSON.stringify(formatConfigError(e.error))).join(', ')}`;
  return undefined;
}

async function runCases(file: string, t: Tally, verbose: boolean): Promise<void> {
  const cases = JSON.parse(readFileSync(file, 'utf8')) as ValidateCase[];
  const baseDir = dirname(file);
  for (const c of cases) {
    const before = t.result.failed;
    await t.check(c.file, () => checkCase(c, baseDir));
    if (verbose && t.result.failed === before) console.log(`ok ${c.file}`);
  }
}

async function runCrds(dir: string, t: Tally, verbose: boolean): Promise<void> {
  for (const f of readdirSync(dir).filter((x) => /\.ya?ml$/.test(x)).sort()) {
    let index = 0;
    for (const d of readYamlDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const value = d.value as Record<string, unknown> | null | undefined;
      if (!d.error && (value === null || typeof value !== 'object')) continue;
      const name = (value?.metadata as { name?: string } | undefined)?.name ?? '';
      const caseName = `crds/${f}#${index++} ${name}`;
      const before = t.result.failed;
      await t.check(caseName, () => (d.error ? `cannot parse YAML: ${d.error}` : checkCrdDocument(value!)));
      if (verbose && t.result.failed === before) console.log(`ok ${caseName}`);
    }
  }
}

export const validateSuite: Suite = {
  name: 'validate',
  description: "accept / reject like Istio: cases.json (Istio's validation tables) and Istio's testdata/crds documents",
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    const casesFile = resolve(opts.cases ?? join(conformanceData(), 'validate', 'cases.json'));
    const crdsDir = join(istioTestdata(opts.testdata), 'pkg', 'config', 'validation', 'testdata', 'crds');
    const haveCases = existsSync(casesFile);
    const haveCrds = existsSync(crdsDir);
    if (!haveCases && !haveCrds) return { passed: 0, failed: 0, failures: [], skipped: `no data: ${casesFile} and ${crdsDir} are absent` };
    const t = new Tally();
    if (haveCases) {
      const part = new Tally();
      await runCases(casesFile, part, opts.verbose);
      merge(t, part);
      if (opts.verbose) console.log(`cases (${casesFile}): ${part.result.passed} passed, ${part.result.failed} failed`);
    } else if (opts.cases) {
      t.fail(opts.cases, 'case file not found');
    }
    if (haveCrds) {
      const part = new Tally();
      await runCrds(crdsDir, part, opts.verbose);
      merge(t, part);
      if (opts.verbose) console.log(`crds (${crdsDir}): ${part.result.passed} passed, ${part.result.failed} failed`);
    }
    return t.result;
  },
};

function merge(into: Tally, part: Tally): void {
  into.result.passed += part.result.passed;
  into.result.failed += part.result.failed;
  into.result.failures.push(...part.result.failures);
}
