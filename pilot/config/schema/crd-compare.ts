// Compares a schema's OpenAPI (from the DSL) with the OpenAPI of a CRD, field by field.
// Used by tests to hold the project's schemas to Istio's CRDs (read in place, never copied).
import type { OpenApi } from './dsl.js';

type Node = Record<string, unknown>;

function bounds(n: Node): { min?: number; max?: number } {
  let min = n.minimum as number | undefined;
  let max = n.maximum as number | undefined;
  if (n.format === 'int32') {
    min ??= -2147483648;
    max ??= 2147483647;
  }
  if (n.format === 'uint32') {
    min ??= 0;
    max ??= 4294967295;
  }
  return { min, max };
}

function sameSet(a: unknown, b: unknown): boolean {
  const x = new Set(((a as unknown[]) ?? []).map(String));
  const y = new Set(((b as unknown[]) ?? []).map(String));
  return x.size === y.size && [...x].every((v) => y.has(v));
}

function celMessages(n: Node): string[] {
  return ((n['x-kubernetes-validations'] as { message?: string }[] | undefined) ?? []).map((v) => v.message ?? '').sort();
}

/** Lists the differences between the CRD's schema (`crd`) and ours, with their paths. */
export function compareWithCrd(crd: OpenApi, ours: OpenApi, path = 'spec'): string[] {
  const out: string[] = [];
  const c = crd as Node;
  const o = ours as Node;
  const diff = (what: string, want: unknown, got: unknown) => out.push(`${path}: ${what}: CRD ${JSON.stringify(want)}, ours ${JSON.stringify(got)}`);

  if (c['x-kubernetes-preserve-unknown-fields'] !== o['x-kubernetes-preserve-unknown-fields'] && !c.properties) {
    diff('preserve-unknown-fields', c['x-kubernetes-preserve-unknown-fields'], o['x-kubernetes-preserve-unknown-fields']);
  }
  if (c['x-kubernetes-int-or-string'] !== o['x-kubernetes-int-or-string']) diff('int-or-string', c['x-kubernetes-int-or-string'], o['x-kubernetes-int-or-string']);
  if (c.type !== o.type && !(c['x-kubernetes-preserve-unknown-fields'] && !c.type)) diff('type', c.type, o.type);
  if (c.enum || o.enum) if (!sameSet(c.enum, o.enum)) diff('enum', c.enum, o.enum);
  if (c.type === 'integer' || c.type === 'number') {
    const cb = bounds(c);
    const ob = bounds(o);
    if (c.type === 'number' && o.type === 'number') {
      if (cb.min !== ob.min || cb.max !== ob.max) diff('bounds', cb, ob);
    } else if (cb.min !== ob.min || cb.max !== ob.max) {
      // 64-bit formats carry no bounds in CRDs.
      if (!(c.format === 'int64' && o.format === 'int64') && !(cb.min === 0 && cb.max === undefined && ob.min === 0)) diff('bounds', cb, ob);
    }
  }
  for (const k of ['minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'x-kubernetes-list-type']) {
    if (c[k] !== o[k]) diff(k, c[k], o[k]);
  }
  if (c['x-kubernetes-list-map-keys'] || o['x-kubernetes-list-map-keys']) {
    if (!sameSet(c['x-kubernetes-list-map-keys'], o['x-kubernetes-list-map-keys'])) diff('list-map-keys', c['x-kubernetes-list-map-keys'], o['x-kubernetes-list-map-keys']);
  }
  if (Boolean(c.nullable) !== Boolean(o.nullable)) diff('nullable', c.nullable, o.nullable);
  if (!sameSet(c.required, o.required)) diff('required', c.required, o.required);
  const cm = celMessages(c);
  const om = celMessages(o);
  if (cm.join('\n') !== om.join('\n')) diff('rules', cm, om);

  const cp = (c.properties ?? {}) as Record<string, OpenApi>;
  const op = (o.properties ?? {}) as Record<string, OpenApi>;
  for (const k of Object.keys(cp)) {
    if (!(k in op)) out.push(`${path}.${k}: missing in ours`);
    else out.push(...compareWithCrd(cp[k]!, op[k]!, `${path}.${k}`));
  }
  for (const k of Object.keys(op)) if (!(k in cp)) out.push(`${path}.${k}: not in the CRD`);
  if (c.items || o.items) {
    if (!c.items || !o.items) diff('items', Boolean(c.items), Boolean(o.items));
    else out.push(...compareWithCrd(c.items as OpenApi, o.items as OpenApi, `${path}[]`));
  }
  const ca = c.additionalProperties;
  const oa = o.additionalProperties;
  if (typeof ca === 'object' || typeof oa === 'object') {
    if (typeof ca !== 'object' || typeof oa !== 'object') diff('additionalProperties', Boolean(ca), Boolean(oa));
    else out.push(...compareWithCrd(ca as OpenApi, oa as OpenApi, `${path}{}`));
  }
  return out;
}
