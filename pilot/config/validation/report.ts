// Collects the findings of Istio's validation rules: errors reject a resource, warnings do not.
import type { Issue, PathSegment } from '../schema/dsl.js';

export class Report {
  constructor(
    readonly issues: Issue[] = [],
    private readonly base: PathSegment[] = [],
  ) {}

  /** A report for a sub-field, sharing this report's findings. */
  at(...path: PathSegment[]): Report {
    return new Report(this.issues, [...this.base, ...path]);
  }

  error(message: string, ...path: PathSegment[]): void {
    this.issues.push({ path: [...this.base, ...path], message });
  }

  warn(message: string, ...path: PathSegment[]): void {
    this.issues.push({ path: [...this.base, ...path], message, severity: 'warning' });
  }

  /** Records each message of a check's result as an error (undefined or [] means fine). */
  check(result: string | string[] | undefined, ...path: PathSegment[]): void {
    if (result === undefined) return;
    for (const m of Array.isArray(result) ? result : [result]) this.error(m, ...path);
  }

  /** Records each message as a warning. */
  checkWarn(result: string | string[] | undefined, ...path: PathSegment[]): void {
    if (result === undefined) return;
    for (const m of Array.isArray(result) ? result : [result]) this.warn(m, ...path);
  }
}
