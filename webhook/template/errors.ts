// Errors raised while parsing or executing a template. Messages follow Go's text/template, e.g.
//   template: sidecar:12: function "foo" not defined
//   template: sidecar:3:14: executing "sidecar" at <.Values.x>: map has no entry for key "x"

export class TemplateError extends Error {
  /** The template (or define'd template) the error is in. */
  readonly templateName: string;
  readonly phase: 'parse' | 'exec';
  /** 1-based line of the error, when known. */
  readonly line?: number;
  /** 0-based byte column within the line (exec errors only). */
  readonly column?: number;
  /** The source text of the node that failed (exec errors only), e.g. `.Values.x`. */
  readonly context?: string;

  constructor(message: string, info: {
    templateName: string; phase: 'parse' | 'exec'; line?: number; column?: number; context?: string; cause?: unknown;
  }) {
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = 'TemplateError';
    this.templateName = info.templateName;
    this.phase = info.phase;
    this.line = info.line;
    this.column = info.column;
    this.context = info.context;
  }
}

/** Thrown by template functions to report an error ("error calling NAME: message"). */
export class FuncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuncError';
  }
}
