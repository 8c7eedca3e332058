// Building blocks shared by the Istio schemas: ports, durations, selectors, policy target refs.
// Constraints and CEL rules are those of Istio's CRDs (checked field by field against
// manifests/charts/base/files/crd-all.gen.yaml by test/validation-schema.test.ts).
import { s } from './dsl.js';

export const PORT_RULE = 'port must be between 1-65535';

/** A uint32 port with the CRDs' 1..65535 rule. */
export const port = () => s.uint32().rule(PORT_RULE, (p) => p > 0 && p <= 65535, '0 < self && self <= 65535');

/** A duration the CRDs require to be at least 1ms. */
export const duration = () => s.duration().atLeast1ms();

export const stringMap = () => s.map(s.string());

export const percent = () => s.object({ value: s.double() });

const LABEL_NAME = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

/** istio.type.v1beta1.WorkloadSelector (`matchLabels`), used by security/telemetry/extensions kinds. */
export const WorkloadSelector = () =>
  s.object({
    matchLabels: s
      .map(
        s
          .string()
          .maxLength(63)
          .rule('wildcard not allowed in label value match', (v) => !v.includes('*'), '!self.contains("*")'),
      )
      .maxProperties(4096)
      .rule('wildcard not allowed in label key match', (m) => Object.keys(m).every((k) => !k.includes('*')), 'self.all(key, !key.contains("*"))')
      .rule('key must not be empty', (m) => Object.keys(m).every((k) => k.length > 0), 'self.all(key, key.size() != 0)'),
  });

/** networking.v1alpha3.WorkloadSelector (`labels`), used by ServiceEntry, Sidecar, EnvoyFilter. */
export const NetworkingWorkloadSelector = () =>
  s.object({
    labels: s
      .map(s.string().maxLength(63).rule('wildcard is not supported in selector', (v) => !v.includes('*'), '!self.contains("*")'))
      .maxProperties(256),
  });

/** istio.type.v1beta1.PolicyTargetReference. */
export const PolicyTargetReference = () =>
  s.object(
    {
      group: s.string().maxLength(253).pattern('^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'),
      kind: s.string().minLength(1).maxLength(63).pattern('^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$'),
      name: s.string().minLength(1).maxLength(253),
      namespace: s.string().rule('cross namespace referencing is not currently supported', (v) => v.length === 0, 'self.size() == 0'),
    },
    { required: ['kind', 'name'] },
  );

/** Counts the fields of `o` that are set. */
export function countSet(o: Record<string, unknown>, ...fields: string[]): number {
  return fields.filter((f) => o[f] !== undefined).length;
}

/** The CRDs' rule on a map keyed by port names. */
export function portNameKeys<T>(m: Record<string, T>): boolean {
  return Object.keys(m).every((k) => k.length < 63 && LABEL_NAME.test(k));
}

/** The CRDs' rules on addresses that may be Unix domain sockets. */
export const udsAddress = () =>
  s
    .string()
    .maxLength(256)
    .rule(
      'UDS must be an absolute path or abstract socket',
      (a) => !a.startsWith('unix://') || a[7] === '/' || a[7] === '@',
      'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true',
    )
    .rule('UDS may not be a dir', (a) => !a.startsWith('unix://') || !a.endsWith('/'), 'self.startsWith("unix://") ? !self.endsWith("/") : true');
