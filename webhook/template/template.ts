// Template sets: a named template plus the templates it defines ({{define}}, {{block}}) or that
// are added to it, sharing one function map and options (Go's *template.Template).

import { isEmptyTree, type Node } from './ast.js';
import { TemplateError } from './errors.js';
import { execute, type ExecEnv, type MissingKey } from './exec.js';
import { builtinFuncs, toFuncDef, type FuncDef, type FuncMap } from './funcs.js';
import { parseTrees } from './parser.js';

export interface TemplateOptions {
  /** Functions added to Go's builtins (they take precedence, as with Go's Funcs). */
  funcs?: FuncMap;
  /** Go's `missingkey` option: what a missing map key gives. Default `default` (prints `<no value>`). */
  missingKey?: MissingKey;
  /**
   * Read integral JS numbers as Go ints (like Helm's YAML decoding) instead of float64 (like
   * encoding/json, which is how Istio decodes its values). Default false.
   */
  intNumbers?: boolean;
  /** Action delimiters, default `{{` and `}}`. */
  delims?: [string, string];
  /** Maximum nesting of {{template}} calls. Default 1000. */
  maxDepth?: number;
}

const BUILTINS = builtinFuncs();

class Common {
  trees = new Map<string, { root: Node }>();
  funcs = new Map<string, FuncDef>();
  missingKey: MissingKey = 'default';
  intNumbers = false;
  delims: [string, string] = ['{{', '}}'];
  maxDepth = 1000;

  env(): ExecEnv {
    return {
      lookupTree: name => this.trees.get(name),
      findFunc: name => {
        const f = this.funcs.get(name);
        if (f) return { def: f, builtin: false };
        const b = BUILTINS[name];
        return b ? { def: b, builtin: true } : undefined;
      },
      missingKey: this.missingKey,
      intNumbers: this.intNumbers,
      maxDepth: this.maxDepth,
    };
  }
}

export class Template {
  private constructor(readonly name: string, private readonly common: Common) {}

  /** A new, empty template set whose main template is `name`. */
  static create(name: string, opts: TemplateOptions = {}): Template {
    const c = new Common();
    if (opts.missingKey) c.missingKey = opts.missingKey;
    if (opts.intNumbers) c.intNumbers = true;
    if (opts.delims) c.delims = opts.delims;
    if (opts.maxDepth) c.maxDepth = opts.maxDepth;
    const t = new Template(name, c);
    if (opts.funcs) t.funcs(opts.funcs);
    return t;
  }

  /** Adds functions (must happen before parsing templates that use them). */
  funcs(map: FuncMap): this {
    for (const [name, f] of Object.entries(map)) {
      if (!/^[\p{L}_][\p{L}\p{Nd}_]*$/u.test(name)) throw new Error(`function name ${JSON.stringify(name)} is not a valid identifier`);
      this.common.funcs.set(name, toFuncDef(f));
    }
    return this;
  }

  /** Go's Option: `missingkey=default|invalid|zero|error`. */
  option(...opts: string[]): this {
    for (const o of opts) {
      const m = /^missingkey=(default|invalid|zero|error)$/.exec(o);
      if (!m) throw new Error(`unrecognized option: ${o}`);
      this.common.missingKey = m[1] === 'invalid' ? 'default' : (m[1] as MissingKey);
    }
    return this;
  }

  /** Parses `text` as the body of this template; {{define}}s in it are added to the set. */
  parse(text: string): this {
    const c = this.common;
    const trees = parseTrees(this.name, text, {
      hasFunction: n => c.funcs.has(n) || n in BUILTINS,
      leftDelim: c.delims[0], rightDelim: c.delims[1],
    });
    for (const [name, tree] of trees) {
      const old = c.trees.get(name);
      if (old && isEmptyTree(tree.root)) continue;
      c.trees.set(name, { root: tree.root });
    }
    return this;
  }

  /** A new template named `name` in the same set (Go's t.New(name)). */
  new(name: string): Template {
    return new Template(name, this.common);
  }

  /** Adds (or replaces) the named template `name` with body `text`, returns it. */
  define(name: string, text: string): Template {
    return this.new(name).parse(text);
  }

  /** The template of this set named `name`, if it has a body. */
  lookup(name: string): Template | undefined {
    return this.common.trees.has(name) ? new Template(name, this.common) : undefined;
  }

  /** Names of every template in the set, sorted. */
  templates(): string[] {
    return [...this.common.trees.keys()].sort();
  }

  /** Renders this template with `data` as dot. Throws TemplateError. */
  execute(data?: unknown): string {
    const tree = this.common.trees.get(this.name);
    if (!tree) {
      throw new TemplateError(`template: ${this.name}: ${JSON.stringify(this.name)} is an incomplete or empty template`, {
        templateName: this.name, phase: 'exec',
      });
    }
    return execute(this.common.env(), this.name, tree.root, data);
  }

  /** Renders the template named `name` of this set. */
  executeTemplate(name: string, data?: unknown): string {
    const t = this.lookup(name);
    if (!t) {
      throw new TemplateError(`template: no template ${JSON.stringify(name)} associated with template ${JSON.stringify(this.name)}`, {
        templateName: name, phase: 'exec',
      });
    }
    return t.execute(data);
  }
}

/** Parses a template (Go's template.New(name).Funcs(funcs).Option(...).Parse(text)). */
export function parseTemplate(name: string, text: string, opts: TemplateOptions = {}): Template {
  return Template.create(name, opts).parse(text);
}
