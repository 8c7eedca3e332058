// Kubernetes Gateway API kinds (gateway.networking.k8s.io, its experimental x-k8s.io group and the
// inference extension), as Isthmus reads them to convert them into Istio config like istiod does.
// The CRDs are structural: the API server prunes fields it does not know, so unknown fields are
// kept silently here too; the shapes and the constraints that decide conversion are checked.
import { s, type Infer } from './dsl.js';

const loose = { allowUnknown: true } as const;

const name = () => s.string().minLength(1).maxLength(253);
const sectionName = () => s.string().minLength(1).maxLength(253);
const portNumber = () => s.int32().bounds(1, 65535);

/** metav1.LabelSelector. */
export const LabelSelector = s.object(
  {
    matchLabels: s.map(s.string()),
    matchExpressions: s.list(s.object({ key: s.string(), operator: s.string(), values: s.list(s.string()) }, { ...loose, required: ['key', 'operator'] })),
  },
  loose,
);

export const ParentReference = s.object(
  { group: s.string(), kind: s.string(), namespace: s.string(), name: name(), sectionName: sectionName(), port: portNumber() },
  { ...loose, required: ['name'] },
);

const backendObjectFields = () => ({ group: s.string(), kind: s.string(), name: name(), namespace: s.string(), port: portNumber() });
export const BackendObjectReference = s.object(backendObjectFields(), { ...loose, required: ['name'] });
export const BackendRef = s.object({ ...backendObjectFields(), weight: s.int32().bounds(0, 1000000) }, { ...loose, required: ['name'] });

const HTTPHeader = () => s.object({ name: s.string().minLength(1), value: s.string() }, { ...loose, required: ['name', 'value'] });
export const HTTPHeaderFilter = s.object({ set: s.list(HTTPHeader()), add: s.list(HTTPHeader()), remove: s.list(s.string()) }, loose);

const HTTPPathModifier = () =>
  s.object({ type: s.string(), replaceFullPath: s.string(), replacePrefixMatch: s.string() }, { ...loose, required: ['type'] });

export const HTTPRequestMirrorFilter = s.object(
  {
    backendRef: BackendObjectReference,
    percent: s.int32().bounds(0, 100),
    fraction: s.object({ numerator: s.int32(), denominator: s.int32() }, { ...loose, required: ['numerator'] }),
  },
  { ...loose, required: ['backendRef'] },
);

const HTTPRouteFilterFields = () => ({
  type: s.string(),
  requestHeaderModifier: HTTPHeaderFilter,
  responseHeaderModifier: HTTPHeaderFilter,
  requestMirror: HTTPRequestMirrorFilter,
  requestRedirect: s.object(
    { scheme: s.string(), hostname: s.string(), path: HTTPPathModifier(), port: portNumber(), statusCode: s.int32() },
    loose,
  ),
  urlRewrite: s.object({ hostname: s.string(), path: HTTPPathModifier() }, loose),
  cors: s.object(
    {
      allowOrigins: s.list(s.string()),
      allowCredentials: s.bool(),
      allowMethods: s.list(s.string()),
      allowHeaders: s.list(s.string()),
      exposeHeaders: s.list(s.string()),
      maxAge: s.int32(),
    },
    loose,
  ),
  extensionRef: s.object({ group: s.string(), kind: s.string(), name: s.string() }, loose),
});
export const HTTPRouteFilter = s.object(HTTPRouteFilterFields(), { ...loose, required: ['type'] });

export const HTTPBackendRef = s.object(
  { ...backendObjectFields(), weight: s.int32().bounds(0, 1000000), filters: s.list(HTTPRouteFilter) },
  { ...loose, required: ['name'] },
);

export const HTTPRouteMatch = s.object(
  {
    path: s.object({ type: s.string(), value: s.string() }, loose),
    headers: s.list(s.object({ type: s.string(), name: s.string(), value: s.string() }, { ...loose, required: ['name', 'value'] })),
    queryParams: s.list(s.object({ type: s.string(), name: s.string(), value: s.string() }, { ...loose, required: ['name', 'value'] })),
    method: s.string(),
  },
  loose,
);

export const HTTPRouteRule = s.object(
  {
    name: s.string(),
    matches: s.list(HTTPRouteMatch),
    filters: s.list(HTTPRouteFilter),
    backendRefs: s.list(HTTPBackendRef),
    timeouts: s.object({ request: s.string(), backendRequest: s.string() }, loose),
    retry: s.object({ codes: s.list(s.int32()), attempts: s.int32(), backoff: s.string() }, loose),
  },
  loose,
);

const routeCommon = () => ({ parentRefs: s.list(ParentReference) });

export const HTTPRouteSpec = s.object({ ...routeCommon(), hostnames: s.list(s.string()), rules: s.list(HTTPRouteRule) }, loose);

export const GRPCBackendRef = HTTPBackendRef;
export const GRPCRouteMatch = s.object(
  {
    method: s.object({ type: s.string(), service: s.string(), method: s.string() }, loose),
    headers: s.list(s.object({ type: s.string(), name: s.string(), value: s.string() }, { ...loose, required: ['name', 'value'] })),
  },
  loose,
);
export const GRPCRouteRule = s.object(
  { name: s.string(), matches: s.list(GRPCRouteMatch), filters: s.list(HTTPRouteFilter), backendRefs: s.list(GRPCBackendRef) },
  loose,
);
export const GRPCRouteSpec = s.object({ ...routeCommon(), hostnames: s.list(s.string()), rules: s.list(GRPCRouteRule) }, loose);

const L4RouteRule = () => s.object({ name: s.string(), backendRefs: s.list(BackendRef) }, loose);
export const TCPRouteSpec = s.object({ ...routeCommon(), rules: s.list(L4RouteRule()) }, loose);
export const TLSRouteSpec = s.object({ ...routeCommon(), hostnames: s.list(s.string()), rules: s.list(L4RouteRule()) }, loose);

const SecretObjectReference = () => s.object({ group: s.string(), kind: s.string(), name: name(), namespace: s.string() }, { ...loose, required: ['name'] });
const ObjectReference = () => s.object({ group: s.string(), kind: s.string(), name: name(), namespace: s.string() }, { ...loose, required: ['name'] });

export const ListenerTLSConfig = s.object(
  { mode: s.string(), certificateRefs: s.list(SecretObjectReference()), options: s.map(s.string()) },
  loose,
);

const AllowedRoutes = () =>
  s.object(
    {
      namespaces: s.object({ from: s.string(), selector: LabelSelector }, loose),
      kinds: s.list(s.object({ group: s.string(), kind: s.string() }, { ...loose, required: ['kind'] })),
    },
    loose,
  );

const listenerFields = () => ({
  name: sectionName(),
  hostname: s.string(),
  port: s.int32(),
  protocol: s.string(),
  tls: ListenerTLSConfig,
  allowedRoutes: AllowedRoutes(),
});
export const Listener = s.object(listenerFields(), { ...loose, required: ['name', 'protocol'] });

const FrontendTLSValidation = () =>
  s.object({ caCertificateRefs: s.list(ObjectReference()), mode: s.string() }, loose);
const TLSConfig = () => s.object({ validation: FrontendTLSValidation() }, loose);

export const GatewaySpec = s.object(
  {
    gatewayClassName: s.string(),
    listeners: s.list(Listener),
    addresses: s.list(s.object({ type: s.string(), value: s.string() }, loose)),
    infrastructure: s.object(
      {
        labels: s.map(s.string()),
        annotations: s.map(s.string()),
        parametersRef: s.object({ group: s.string(), kind: s.string(), name: s.string() }, loose),
      },
      loose,
    ),
    tls: s.object(
      {
        frontend: s.object(
          { default: TLSConfig(), perPort: s.list(s.object({ port: s.int32(), tls: TLSConfig() }, loose)) },
          loose,
        ),
        backend: s.object({ clientCertificateRef: SecretObjectReference() }, loose),
      },
      loose,
    ),
    allowedListeners: s.object({ namespaces: s.object({ from: s.string(), selector: LabelSelector }, loose) }, loose),
  },
  { ...loose, required: ['gatewayClassName'] },
);

export const GatewayClassSpec = s.object(
  {
    controllerName: s.string(),
    description: s.string(),
    parametersRef: s.object({ group: s.string(), kind: s.string(), name: s.string(), namespace: s.string() }, loose),
  },
  { ...loose, required: ['controllerName'] },
);

export const ReferenceGrantSpec = s.object(
  {
    from: s.list(s.object({ group: s.string(), kind: s.string(), namespace: s.string() }, { ...loose, required: ['kind', 'namespace'] })),
    to: s.list(s.object({ group: s.string(), kind: s.string(), name: s.string() }, { ...loose, required: ['kind'] })),
  },
  loose,
);

export const ListenerSetSpec = s.object(
  {
    parentRef: s.object({ group: s.string(), kind: s.string(), name: s.string(), namespace: s.string() }, { ...loose, required: ['name'] }),
    listeners: s.list(Listener),
  },
  loose,
);

const PolicyTargetRef = () => s.object({ group: s.string(), kind: s.string(), name: s.string(), sectionName: s.string() }, loose);

export const BackendTLSPolicySpec = s.object(
  {
    targetRefs: s.list(PolicyTargetRef()),
    validation: s.object(
      {
        caCertificateRefs: s.list(s.object({ group: s.string(), kind: s.string(), name: s.string() }, loose)),
        wellKnownCACertificates: s.string(),
        hostname: s.string(),
        subjectAltNames: s.list(s.object({ type: s.string(), hostname: s.string(), uri: s.string() }, loose)),
      },
      loose,
    ),
    options: s.map(s.string()),
  },
  loose,
);

export const XBackendTrafficPolicySpec = s.object(
  {
    targetRefs: s.list(PolicyTargetRef()),
    retryConstraint: s.object(
      {
        budget: s.object({ percent: s.int32(), interval: s.string() }, loose),
        minRetryRate: s.object({ count: s.int32(), interval: s.string() }, loose),
      },
      loose,
    ),
    sessionPersistence: s.object(
      { sessionName: s.string(), absoluteTimeout: s.string(), idleTimeout: s.string(), type: s.string(), cookieConfig: s.object({ lifetimeType: s.string() }, loose) },
      loose,
    ),
    loadBalancer: s.json(),
  },
  loose,
);

export const XBackendSpec = s.object(
  {
    type: s.string(),
    externalHostname: s.object({ hostname: s.string() }, loose),
    port: s.object({ port: s.int32(), protocol: s.string() }, loose),
    tls: s.json(),
  },
  loose,
);

export const InferencePoolSpec = s.object(
  {
    targetPorts: s.list(s.object({ number: s.int32() }, loose)),
    selector: s.object({ matchLabels: s.map(s.string()) }, loose),
    endpointPickerRef: s.object(
      { group: s.string(), kind: s.string(), name: s.string(), port: s.object({ number: s.int32() }, loose), failureMode: s.string() },
      loose,
    ),
  },
  loose,
);

export type LabelSelector = Infer<typeof LabelSelector>;
export type ParentReference = Infer<typeof ParentReference>;
export type BackendObjectReference = Infer<typeof BackendObjectReference>;
export type BackendRef = Infer<typeof BackendRef>;
export type HTTPBackendRef = Infer<typeof HTTPBackendRef>;
export type HTTPHeaderFilter = Infer<typeof HTTPHeaderFilter>;
export type HTTPRequestMirrorFilter = Infer<typeof HTTPRequestMirrorFilter>;
export type HTTPRouteFilter = Infer<typeof HTTPRouteFilter>;
export type HTTPRouteMatch = Infer<typeof HTTPRouteMatch>;
export type HTTPRouteRule = Infer<typeof HTTPRouteRule>;
export type HTTPRouteSpec = Infer<typeof HTTPRouteSpec>;
export type GRPCRouteMatch = Infer<typeof GRPCRouteMatch>;
export type GRPCRouteRule = Infer<typeof GRPCRouteRule>;
export type GRPCRouteSpec = Infer<typeof GRPCRouteSpec>;
export type TCPRouteSpec = Infer<typeof TCPRouteSpec>;
export type TLSRouteSpec = Infer<typeof TLSRouteSpec>;
export type ListenerTLSConfig = Infer<typeof ListenerTLSConfig>;
export type Listener = Infer<typeof Listener>;
export type GatewaySpec = Infer<typeof GatewaySpec>;
export type GatewayClassSpec = Infer<typeof GatewayClassSpec>;
export type ReferenceGrantSpec = Infer<typeof ReferenceGrantSpec>;
export type ListenerSetSpec = Infer<typeof ListenerSetSpec>;
export type BackendTLSPolicySpec = Infer<typeof BackendTLSPolicySpec>;
export type XBackendTrafficPolicySpec = Infer<typeof XBackendTrafficPolicySpec>;
export type XBackendSpec = Infer<typeof XBackendSpec>;
export type InferencePoolSpec = Infer<typeof InferencePoolSpec>;
