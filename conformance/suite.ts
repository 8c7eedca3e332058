// The shape every conformance suite shares (DESIGN.md: runner conventions).

export interface SuiteOptions {
  /** A case file of the suite's format; relative paths inside it resolve against its folder. */
  cases?: string;
  /** Root of Istio test data (an Istio checkout or ../shared/istio). */
  testdata?: string;
  /** Extra files some suites accept (e.g. `--routes` for simulate). */
  extra: Record<string, string | undefined>;
  /** Print a line for passing cases too. */
  verbose: boolean;
}

export interface CaseFailure {
  name: string;
  why: string;
}

export interface SuiteResult {
  passed: number;
  failed: number;
  failures: CaseFailure[];
  /** Set when the suite's data is absent: the suite is skipped, and says so. */
  skipped?: string;
}

export interface Suite {
  name: string;
  description: string;
  /** Extra flags the suite accepts, e.g. ['routes']. */
  extraFlags?: string[];
  run(opts: SuiteOptions): Promise<SuiteResult>;
}

/** Tallies case outcomes; a case that needs an unbuilt feature is a failure, never a skip. */
export class Tally {
  readonly result: SuiteResult = { passed: 0, failed: 0, failures: [] };
  pass(): void {
    this.result.passed++;
  }
  fail(name: string, why: string): void {
    this.result.failed++;
    this.result.failures.push({ name, why });
  }
  /** Runs one case; an exception is that case's failure, not the suite's. */
  async check(name: string, fn: () => Promise<string | undefined> | string | undefined): Promise<void> {
    try {
      const why = await fn();
      if (why) this.fail(name, why);
      else this.pass();
    } catch (e) {
      this.fail(name, `error: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}
