// telemetry.istio.io Telemetry (v1 and v1alpha1 share one shape), with the constraints and CEL
// rules of Istio's CRD.
import { s, type Infer } from './dsl.js';
import { countSet, duration, PolicyTargetReference, WorkloadSelector } from './common.js';

const ProviderRef = () => s.object({ name: s.string().minLength(1) }, { required: ['name'] });
const WorkloadMode = () => s.enum('CLIENT_AND_SERVER', 'CLIENT', 'SERVER');

export const TagOverride = s
  .object({ operation: s.enum('UPSERT', 'REMOVE'), value: s.string() })
  .rule(
    'value must be set when operation is UPSERT',
    (t) => t.operation !== 'UPSERT' || (t.value !== undefined && t.value !== ''),
    '((has(self.operation) ? self.operation : "") == "UPSERT") ? (self.value != "") : true',
  )
  .rule(
    'value must not be set when operation is REMOVE',
    (t) => t.operation !== 'REMOVE' || t.value === undefined,
    '((has(self.operation) ? self.operation : "") == "REMOVE") ? !has(self.value) : true',
  );

export const MetricsOverrides = s.object({
  match: s.object(
    {
      metric: s.enum(
        'ALL_METRICS', 'REQUEST_COUNT', 'REQUEST_DURATION', 'REQUEST_SIZE', 'RESPONSE_SIZE', 'TCP_OPENED_CONNECTIONS',
        'TCP_CLOSED_CONNECTIONS', 'TCP_SENT_BYTES', 'TCP_RECEIVED_BYTES', 'GRPC_REQUEST_MESSAGES', 'GRPC_RESPONSE_MESSAGES',
      ),
      customMetric: s.string().minLength(1),
      mode: WorkloadMode(),
    },
    { oneOf: [['metric', 'customMetric']] },
  ),
  disabled: s.bool().allowNull(),
  tagOverrides: s.map(TagOverride),
});

export const Metrics = s.object({
  providers: s.list(ProviderRef()),
  overrides: s.list(MetricsOverrides),
  reportingInterval: duration(),
});

export const CustomTag = s.object(
  {
    literal: s.object({ value: s.string().minLength(1) }, { required: ['value'] }),
    environment: s.object({ name: s.string().minLength(1), defaultValue: s.string() }, { required: ['name'] }),
    header: s.object({ name: s.string().minLength(1), defaultValue: s.string() }, { required: ['name'] }),
    formatter: s.object({ value: s.string().minLength(1) }, { required: ['value'] }),
  },
  { oneOf: [['literal', 'environment', 'header', 'formatter']] },
);

export const Tracing = s.object({
  match: s.object({ mode: WorkloadMode() }),
  providers: s.list(ProviderRef()),
  randomSamplingPercentage: s.double().bounds(0, 100).allowNull(),
  disableSpanReporting: s.bool().allowNull(),
  customTags: s.map(CustomTag),
  useRequestIdForTraceSampling: s.bool().allowNull(),
  enableIstioTags: s.bool().allowNull(),
  disableContextPropagation: s.bool().allowNull(),
});

export const AccessLogging = s.object({
  match: s.object({ mode: WorkloadMode() }),
  providers: s.list(ProviderRef()),
  disabled: s.bool().allowNull(),
  filter: s.object({ expression: s.string() }),
});

export const Telemetry = s
  .object({
    selector: WorkloadSelector(),
    targetRef: PolicyTargetReference(),
    targetRefs: s.list(PolicyTargetReference()).maxItems(16),
    tracing: s.list(Tracing),
    metrics: s.list(Metrics),
    accessLogging: s.list(AccessLogging),
  })
  .rule(
    'only one of targetRefs or selector can be set',
    (t) => countSet(t, 'selector', 'targetRef', 'targetRefs') <= 1,
    '(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1',
  );

export type Telemetry = Infer<typeof Telemetry>;
export type TelemetryTracing = Infer<typeof Tracing>;
export type TelemetryMetrics = Infer<typeof Metrics>;
export type TelemetryAccessLogging = Infer<typeof AccessLogging>;
