// Injection configuration in Istio's formats: the `config` key of the istio-sidecar-injector
// ConfigMap (policy, defaultTemplates, templates, aliases, selectors, injectedAnnotations), its
// `values` key (the Helm values templates see as `.Values`), and label selectors.

import { parse as parseYaml } from 'yaml';
import { parseInjectionTemplate, type Template } from '../template/index.js';
import type { IstioFuncOptions } from '../template/index.js';
import { protoJsonForTemplate } from './mesh.js';
import { parseYamlWith } from './fastyaml.js';

export const SIDECAR_TEMPLATE = 'sidecar';

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** inject.Config */
export interface InjectConfig {
  policy: string;
  defaultTemplates: string[];
  rawTemplates: Record<string, string>;
  aliases: Record<string, string[]>;
  neverInjectSelector: LabelSelector[];
  alwaysInjectSelector: LabelSelector[];
  injectedAnnotations: Record<string, string>;
  templates: Map<string, Template>;
}

export class ConfigError extends Error {}

/** Go's yaml.Unmarshal into interface{}: YAML 1.1 scalars, numbers through JSON. */
export function parseGoYaml(text: string): unknown {
  return parseYamlWith(text, t => {
    const v = parseYaml(t, { version: '1.1', merge: true, uniqueKeys: false }) as unknown;
    return v === undefined ? null : JSON.parse(JSON.stringify(v ?? null)) as unknown;
  });
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (v === null || v === undefined) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${field}: expected a map of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x !== 'string') throw new ConfigError(`${field}.${k}: expected a string, got ${JSON.stringify(x)}`);
    out[k] = x;
  }
  return out;
}

function stringList(v: unknown, field: string): string[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v) || v.some(x => typeof x !== 'string')) throw new ConfigError(`${field}: expected a list of strings`);
  return v as string[];
}

function selectors(v: unknown, field: string): LabelSelector[] {
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw new ConfigError(`${field}: expected a list of label selectors`);
  return v.map((s, i) => {
    if (s === null) return {};
    if (typeof s !== 'object' || Array.isArray(s)) throw new ConfigError(`${field}[${i}]: expected a label selector`);
    const o = s as Record<string, unknown>;
    return {
      matchLabels: stringMap(o.matchLabels, `${field}[${i}].matchLabels`),
      matchExpressions: ((o.matchExpressions ?? []) as LabelSelectorRequirement[]),
    };
  });
}

/** Parses templates the way Istio does (each as template "inject", Sprig + Istio functions). */
export function parseTemplates(raw: Record<string, string>, istio?: IstioFuncOptions): Map<string, Template> {
  const out = new Map<string, Template>();
  const opts: IstioFuncOptions = { cleanProxyConfig: protoJsonForTemplate, ...istio };
  for (const [name, text] of Object.entries(raw)) out.set(name, parseInjectionTemplate('inject', text, { istio: opts }));
  return out;
}

/** inject.UnmarshalConfig: the `config` key of the injector ConfigMap. */
export function unmarshalConfig(text: string, opts: { istio?: IstioFuncOptions; warn?: (m: string) => void } = {}): InjectConfig {
  let doc: unknown;
  try {
    doc = parseGoYaml(text);
  } catch (e) {
    throw new ConfigError(`failed to unmarshal injection template: ${(e as Error).message}`);
  }
  if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) {
    throw new ConfigError('failed to unmarshal injection template: error unmarshaling JSON: json: cannot unmarshal into Go value of type inject.Config');
  }
  const o = (doc ?? {}) as Record<string, unknown>;
  let cfg: Omit<InjectConfig, 'templates'>;
  try {
    const aliases: Record<string, string[]> = {};
    for (const [k, v] of Object.entries((o.aliases ?? {}) as Record<string, unknown>)) aliases[k] = stringList(v, `aliases.${k}`);
    cfg = {
      policy: o.policy === undefined || o.policy === null ? '' : String(o.policy),
      defaultTemplates: stringList(o.defaultTemplates, 'defaultTemplates'),
      rawTemplates: stringMap(o.templates, 'templates'),
      aliases,
      neverInjectSelector: selectors(o.neverInjectSelector, 'neverInjectSelector'),
      alwaysInjectSelector: selectors(o.alwaysInjectSelector, 'alwaysInjectSelector'),
      injectedAnnotations: stringMap(o.injectedAnnotations, 'injectedAnnotations'),
    };
  } catch (e) {
    throw new ConfigError(`failed to unmarshal injection template: ${(e as Error).message}`);
  }
  if (cfg.defaultTemplates.length === 0) cfg.defaultTemplates = [SIDECAR_TEMPLATE];
  if (Object.keys(cfg.rawTemplates).length === 0) {
    opts.warn?.('injection templates are empty. This may be caused by using an injection template from an older version of Istio.' +
      ' Please ensure the template is correct; mismatch template versions can lead to unexpected results, including pods not being injected.');
  }
  return { ...cfg, templates: parseTemplates(cfg.rawTemplates, opts.istio) };
}

/** A config holding only templates (kube-inject with --injectConfigFile). */
export function configFromTemplates(raw: Record<string, string>, istio?: IstioFuncOptions): InjectConfig {
  return {
    policy: 'enabled', defaultTemplates: [SIDECAR_TEMPLATE], rawTemplates: raw, aliases: {}, neverInjectSelector: [],
    alwaysInjectSelector: [], injectedAnnotations: {}, templates: parseTemplates(raw, istio),
  };
}

// ---- values ----

/** The `values` key: Helm values, as a map (`.Values` in templates) plus typed accessors. */
export class ValuesConfig {
  readonly raw: string;
  readonly map: Record<string, unknown>;

  constructor(raw: string) {
    this.raw = raw;
    let v: unknown;
    try {
      v = parseGoYaml(raw);
    } catch (e) {
      throw new ConfigError(`could not parse configuration values: ${(e as Error).message}`);
    }
    if (v !== null && (typeof v !== 'object' || Array.isArray(v))) {
      throw new ConfigError('could not parse configuration values: expected a map');
    }
    this.map = (v ?? {}) as Record<string, unknown>;
  }

  static fromObject(values: Record<string, unknown>): ValuesConfig {
    return new ValuesConfig(JSON.stringify(values));
  }

  get(path: string): unknown {
    let cur: unknown = this.map;
    for (const p of path.split('.')) {
      if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
      cur = (cur as Record<string, unknown>)[p];
    }
    return cur;
  }

  str(path: string): string {
    const v = this.get(path);
    return typeof v === 'string' ? v : '';
  }

  bool(path: string): boolean {
    return this.get(path) === true;
  }
}

// ---- label selectors ----

/** metav1.LabelSelectorAsSelector + Matches; `undefined` for an empty (match-nothing-here) selector. */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean | undefined {
  const ml = Object.entries(sel.matchLabels ?? {});
  const exprs = sel.matchExpressions ?? [];
  if (ml.length + exprs.length === 0) return undefined;
  for (const e of exprs) {
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In': case 'NotIn':
        if (values.length === 0) throw new ConfigError(`values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty`);
        break;
      case 'Exists': case 'DoesNotExist':
        if (values.length > 0) throw new ConfigError(`values: Invalid value: ${JSON.stringify(values)}: values set must be empty for exists and does not exist`);
        break;
      default:
        throw new ConfigError(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
    }
  }
  for (const [k, v] of ml) if (labels[k] !== v) return false;
  for (const e of exprs) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In': if (!has || !values.includes(labels[e.key])) return false; break;
      case 'NotIn': if (has && values.includes(labels[e.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
    }
  }
  return true;
}
