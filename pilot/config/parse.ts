// Turns YAML text or plain objects into typed, checked resources. One bad document never
// hides the others: each error names file, line, kind, namespace/name and field.
//
// Checks run in the order the Kubernetes API server and Istio's webhook apply them:
//  1. the object reads as the kind's proto message (types, unknown fields, enums, oneofs),
//     and its metadata is valid;
//  2. the CRD's schema constraints and CEL rules hold (`crdChecks`);
//  3. Istio's validation rules (its webhook), which may also yield warnings (`rules`).
// A stage runs only when the previous ones found no error; warnings never reject a resource.
import { isMap, isScalar, LineCounter, parseAllDocuments, Scalar, visit, type Document } from 'yaml';
import { formatPath, parseWith, type Issue, type PathSegment } from './schema/dsl.js';
import { lookupKind } from './kinds.js';
import type { ObjectMeta, Resource, SourcePosition } from './resource.js';

export interface ConfigError {
  file?: string;
  line?: number;
  kind?: string;
  namespace?: string;
  name?: string;
  /** Dotted path of the offending field, e.g. `spec.http[0].route[0].weight`. */
  field?: string;
  message: string;
  /** Which check found it: reading the object and its CRD schema, or Istio's validation rules. */
  origin?: 'schema' | 'rules';
}

export function formatConfigError(e: ConfigError): string {
  const where = e.file ? `${e.file}${e.line ? `:${e.line}` : ''}: ` : '';
  const what = e.kind ? `${e.kind} ${e.namespace ?? ''}${e.namespace ? '/' : ''}${e.name ?? '(unnamed)'}: ` : '';
  const field = e.field ? `${e.field}: ` : '';
  return `${where}${what}${field}${e.message}`;
}

export interface ParseResult {
  resources: Resource[];
  errors: ConfigError[];
  /** Findings that do not reject a resource (Istio's validation warnings). */
  warnings: ConfigError[];
  /** Objects of kinds Isthmus does not read (Deployments, ...), by `apiVersion/kind`. */
  ignored: string[];
}

export interface ParseOptions {
  file?: string;
  defaultNamespace?: string;
  /** Apply the CRD schema's constraints and CEL rules (default true). */
  crdChecks?: boolean;
  /** Apply Istio's validation rules (default true). */
  rules?: boolean;
}

/** Locates a path inside a YAML document to report the line of an error. */
type Locate = (path: PathSegment[]) => number | undefined;

export function parseYaml(text: string, opts: ParseOptions = {}): ParseResult {
  const result: ParseResult = { resources: [], errors: [], warnings: [], ignored: [] };
  const lineCounter = new LineCounter();
  let docs: Document.Parsed[];
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true }) as Document.Parsed[];
  } catch (e) {
    result.errors.push({ file: opts.file, message: `cannot parse YAML: ${(e as Error).message}` });
    return result;
  }
  if (!Array.isArray(docs)) docs = [docs as Document.Parsed];
  for (const doc of docs) {
    if (doc.errors.length) {
      for (const err of doc.errors) {
        const line = err.linePos?.[0]?.line;
        result.errors.push({ file: opts.file, line, message: `cannot parse YAML: ${err.message.split('\n')[0]!.replace(/:$/, '')}` });
      }
      continue;
    }
    readFlowScalarsAsKubernetes(doc, text);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const locate: Locate = (path) => {
      const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
      const offset = node?.range?.[0];
      if (offset === undefined) return path.length ? locate(path.slice(0, -1)) : undefined;
      return lineCounter.linePos(offset).line;
    };
    parseObjectInto(value, { ...opts, locate, basePath: [] }, result);
  }
  return result;
}

/** Decodes every document of a YAML stream as Kubernetes reads it (see below); errors per document. */
export function readYamlDocuments(text: string): { value?: unknown; error?: string }[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  return (Array.isArray(docs) ? docs : [docs]).map((doc) => {
    if (doc.errors.length) return { error: doc.errors[0]!.message.split('\n')[0]! };
    readFlowScalarsAsKubernetes(doc as Document.Parsed, text);
    return { value: doc.toJS() };
  });
}

/**
 * Kubernetes reads YAML with go-yaml, where a `:` inside a flow collection ends a plain scalar
 * only when a space follows: `[fe80::, 2001:db8::]` is a list of two addresses. The YAML 1.2
 * reading (`fe80:` as a key without value) is turned back into the string Kubernetes sees.
 */
function readFlowScalarsAsKubernetes(doc: Document.Parsed, text: string): void {
  visit(doc, {
    Seq(_, seq) {
      if (!seq.flow) return;
      seq.items = seq.items.map((item) => {
        if (!isMap(item) || item.items.length !== 1) return item;
        const { key, value } = item.items[0]!;
        if (!isScalar(key) || key.type !== 'PLAIN' || !key.range) return item;
        if (value !== null && !(isScalar(value) && value.value === null && value.source === '')) return item;
        const end = key.range[1];
        if (text[end] !== ':' || !/[,\]}[{]/.test(text[end + 1] ?? '')) return item;
        const scalar = new Scalar(`${String(key.source)}:`);
        scalar.range = [key.range[0], end + 1, end + 1];
        return scalar;
      });
    },
  });
}

interface ObjectContext extends ParseOptions {
  locate?: Locate;
  basePath: PathSegment[];
}

function parseObjectInto(value: unknown, ctx: ObjectContext, out: ParseResult): void {
  const at = (path: PathSegment[]) => ctx.locate?.([...ctx.basePath, ...path]);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    out.errors.push({ file: ctx.file, line: at([]), message: 'a config document must be a mapping with apiVersion and kind' });
    return;
  }
  const obj = value as Record<string, unknown>;
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    obj.items.forEach((item, i) => parseObjectInto(item, { ...ctx, basePath: [...ctx.basePath, 'items', i] }, out));
    return;
  }
  const parsed = parseObject(obj, ctx.defaultNamespace, ctx);
  if ('ignored' in parsed) {
    out.ignored.push(parsed.ignored);
    return;
  }
  for (const w of parsed.warnings ?? []) out.warnings.push({ ...w.error, file: ctx.file, line: at(w.path) });
  if ('errors' in parsed) {
    for (const e of parsed.errors) {
      out.errors.push({ ...e.error, file: ctx.file, line: at(e.path) });
    }
    return;
  }
  parsed.resource.source = { file: ctx.file, line: at([]) } satisfies SourcePosition;
  out.resources.push(parsed.resource);
}

export interface LocatedError {
  error: ConfigError;
  path: PathSegment[];
}

export type ObjectParse =
  | { resource: Resource; warnings?: LocatedError[] }
  | { errors: LocatedError[]; warnings?: LocatedError[] }
  | { ignored: string };

const NAME_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const TOP_LEVEL_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/** Parses one object (already decoded from YAML/JSON) into a resource of a known kind. */
export function parseObject(
  obj: Record<string, unknown>,
  defaultNamespace = 'default',
  opts: Pick<ParseOptions, 'crdChecks' | 'rules'> = {},
): ObjectParse {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kindName = typeof obj.kind === 'string' ? obj.kind : '';
  if (!apiVersion || !kindName) {
    return { errors: [{ error: { message: 'apiVersion and kind are required' }, path: [] }] };
  }
  const info = lookupKind(apiVersion, kindName);
  if (!info) return { ignored: `${apiVersion}/${kindName}` };

  const rawMeta = (obj.metadata ?? {}) as Record<string, unknown>;
  const meta: ObjectMeta = {
    name: typeof rawMeta.name === 'string' ? rawMeta.name : '',
    namespace: info.clusterScoped
      ? ''
      : typeof rawMeta.namespace === 'string' && rawMeta.namespace
        ? rawMeta.namespace
        : defaultNamespace,
    labels: stringRecord(rawMeta.labels),
    annotations: stringRecord(rawMeta.annotations),
  };
  if (typeof rawMeta.resourceVersion === 'string') meta.resourceVersion = rawMeta.resourceVersion;
  if (typeof rawMeta.generation === 'number') meta.generation = rawMeta.generation;
  if (typeof rawMeta.creationTimestamp === 'string') meta.creationTimestamp = rawMeta.creationTimestamp;
  if (typeof rawMeta.deletionTimestamp === 'string') meta.deletionTimestamp = rawMeta.deletionTimestamp;
  if (typeof rawMeta.uid === 'string') meta.uid = rawMeta.uid;

  const named = { kind: info.kind, namespace: meta.namespace, name: meta.name || undefined };
  const errors: LocatedError[] = [];
  const warnings: LocatedError[] = [];
  const report = (issues: Issue[], origin: 'schema' | 'rules' = 'schema') => {
    for (const issue of issues) {
      const located = { error: { ...named, field: formatPath(issue.path), message: issue.message, origin }, path: issue.path };
      (issue.severity === 'warning' ? warnings : errors).push(located);
    }
  };

  if (!meta.name) report([{ path: ['metadata', 'name'], message: 'name is required' }]);
  else if (!NAME_RE.test(meta.name) || meta.name.length > 253) {
    report([{ path: ['metadata', 'name'], message: `invalid name ${JSON.stringify(meta.name)}: must be a lowercase RFC 1123 subdomain` }]);
  }

  let body: unknown;
  let basePath: PathSegment[];
  const crd: Issue[] = [];
  if (info.body === 'spec') {
    for (const key of Object.keys(obj)) {
      if (!TOP_LEVEL_FIELDS.has(key)) report([{ path: [key], message: `unknown field "${key}"` }]);
    }
    if (obj.spec === undefined && info.specRequired) crd.push({ path: ['spec'], message: 'Required value' });
    if (obj.spec === null) crd.push({ path: ['spec'], message: 'in body must be of type object: "null"' });
    body = obj.spec ?? {};
    basePath = ['spec'];
  } else {
    const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = obj;
    body = rest;
    basePath = [];
  }
  const { value, issues, constraints } = parseWith(info.schema, body, basePath);
  report(issues);
  if (opts.crdChecks !== false) report([...crd, ...constraints]);
  if (errors.length === 0 && value !== undefined && info.validate && opts.rules !== false) {
    report(info.validate(value, meta).map((i) => ({ ...i, path: [...basePath, ...i.path] })), 'rules');
  }
  if (errors.length || value === undefined) return { errors, warnings };

  const slash = apiVersion.indexOf('/');
  return {
    resource: {
      kind: info.kind,
      group: slash < 0 ? '' : apiVersion.slice(0, slash),
      version: slash < 0 ? apiVersion : apiVersion.slice(slash + 1),
      meta,
      spec: value,
    },
    warnings,
  };
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, val] of Object.entries(v)) if (val !== null && val !== undefined) out[k] = String(val);
  }
  return out;
}
