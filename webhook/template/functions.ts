// Function maps: Sprig's text functions and Istio's injection functions, combined the way Istio
// parses its injection templates (template.New("inject").Funcs(sprig.TxtFuncMap()).Funcs(istio)).

import type { FuncDef } from './funcs.js';
import { istioFuncs, type IstioFuncOptions } from './istio.js';
import { sprigDataFuncs } from './sprig-data.js';
import { sprigStringFuncs } from './sprig-strings.js';

/** Sprig v3's TxtFuncMap (minus date, crypto-key, network and semver functions). */
export function sprigFuncs(opts: { env?: Record<string, string | undefined> } = {}): Record<string, FuncDef> {
  return { ...sprigStringFuncs(opts.env ?? process.env), ...sprigDataFuncs() };
}

/** Sprig plus Istio's functions, Istio's taking precedence: what Istio's injection templates see. */
export function injectionFuncs(opts: IstioFuncOptions = {}): Record<string, FuncDef> {
  return { ...sprigFuncs({ env: opts.env }), ...istioFuncs(opts) };
}

export { istioFuncs, type IstioFuncOptions };
