// extensions.istio.io WasmPlugin (v1alpha1), with the constraints and CEL rules of Istio's CRD.
import { s, type Infer } from './dsl.js';
import { countSet, PolicyTargetReference, WorkloadSelector } from './common.js';
import { goUrlParseRequestURI } from './formats.js';

const WASM_SCHEMES = ['', 'http', 'https', 'oci', 'file'];

/** The CRD rule: a URL (or host/path without scheme) with one of the schemes Istio fetches from. */
export function wasmUrlAllowed(url: string): boolean {
  const direct = goUrlParseRequestURI(url);
  if (!('error' in direct)) return WASM_SCHEMES.includes(direct.scheme);
  const withHttp = goUrlParseRequestURI(`http://${url}`);
  return !('error' in withHttp) && WASM_SCHEMES.includes(withHttp.scheme);
}

export const WasmPlugin = s
  .object(
    {
      selector: WorkloadSelector(),
      targetRef: PolicyTargetReference(),
      targetRefs: s.list(PolicyTargetReference()).maxItems(16),
      url: s
        .string()
        .minLength(1)
        .rule(
          'url must have schema one of [http, https, file, oci]',
          wasmUrlAllowed,
          'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : (isURL("http://" + self) && url("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])',
        ),
      sha256: s.string().pattern('(^$|^[a-f0-9]{64}$)'),
      imagePullPolicy: s.enum('UNSPECIFIED_POLICY', 'IfNotPresent', 'Always'),
      imagePullSecret: s.string().minLength(1).maxLength(253),
      verificationKey: s.string(),
      pluginConfig: s.json(),
      pluginName: s.string().minLength(1).maxLength(256),
      phase: s.enum('UNSPECIFIED_PHASE', 'AUTHN', 'AUTHZ', 'STATS'),
      priority: s.int32().allowNull(),
      failStrategy: s.enum('FAIL_CLOSE', 'FAIL_OPEN', 'FAIL_RELOAD'),
      vmConfig: s.object({
        env: s
          .list(
            s
              .object(
                { name: s.string().minLength(1).maxLength(256), value: s.string().maxLength(2048), valueFrom: s.enum('INLINE', 'HOST') },
                { required: ['name'] },
              )
              .rule(
                'value may only be set when valueFrom is INLINE',
                (e) => e.valueFrom !== 'HOST' || e.value === undefined,
                '(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)',
              ),
          )
          .maxItems(256)
          .mapBy('name'),
      }),
      match: s.list(
        s.object({
          mode: s.enum('UNDEFINED', 'CLIENT', 'SERVER', 'CLIENT_AND_SERVER'),
          ports: s.list(s.object({ number: s.uint32().bounds(1, 65535) }, { required: ['number'] })).mapBy('number'),
        }),
      ),
      type: s.enum('UNSPECIFIED_PLUGIN_TYPE', 'HTTP', 'NETWORK'),
    },
    { required: ['url'] },
  )
  .rule(
    'only one of targetRefs or selector can be set',
    (w) => countSet(w, 'selector', 'targetRef', 'targetRefs') <= 1,
    '(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1',
  );

export type WasmPlugin = Infer<typeof WasmPlugin>;
