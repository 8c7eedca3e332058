// Go text/template engine (with Sprig's and Istio's template functions) for Istio's sidecar
// injection templates and users' custom ones. See README.md in this folder.

export { parseTemplate, Template, type TemplateOptions } from './template.js';
export { TemplateError, FuncError } from './errors.js';
export type { MissingKey } from './exec.js';
export { def, type Fn, type FuncDef, type FuncMap, type GoType } from './funcs.js';
export { goStruct, goMap, goSlice, goNil, isNilPointer, GO_TYPE, typeName, kindOf, isTrue } from './values.js';
export { sprint, sprintf, sprintln } from './fmt.js';
export { sprigFuncs, injectionFuncs, istioFuncs, type IstioFuncOptions } from './functions.js';
export { toGoJson, toGoYaml, fromGoJson, fromGoYaml } from './encoding.js';
export { formatGoDuration } from './istio.js';

import { parseTemplate, type Template, type TemplateOptions } from './template.js';
import { injectionFuncs, type IstioFuncOptions } from './functions.js';

/** Parses a template with Sprig's and Istio's functions, as Istio parses injection templates. */
export function parseInjectionTemplate(
  name: string, text: string, opts: TemplateOptions & { istio?: IstioFuncOptions } = {},
): Template {
  return parseTemplate(name, text, { ...opts, funcs: { ...injectionFuncs(opts.istio), ...opts.funcs } });
}
