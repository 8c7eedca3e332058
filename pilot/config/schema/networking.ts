// networking.istio.io schemas (v1, v1beta1 and v1alpha3 share one shape).
import { s, type Infer } from './dsl.js';

const stringMap = () => s.map(s.string());
const percent = () => s.object({ value: s.double() });

export const StringMatch = s.object(
  { exact: s.string(), prefix: s.string(), regex: s.string() },
  { oneOf: [['exact', 'prefix', 'regex']] },
);

export const PortSelector = s.object({ number: s.uint32() });

export const Destination = s.object({ host: s.string(), subset: s.string(), port: PortSelector });

const HeaderOperations = s.object({ set: stringMap(), add: stringMap(), remove: s.list(s.string()) });
export const Headers = s.object({ request: HeaderOperations, response: HeaderOperations });

export const HTTPMatchRequest = s.object({
  name: s.string(),
  uri: StringMatch,
  scheme: StringMatch,
  method: StringMatch,
  authority: StringMatch,
  headers: s.map(StringMatch),
  port: s.uint32(),
  sourceLabels: stringMap(),
  gateways: s.list(s.string()),
  queryParams: s.map(StringMatch),
  ignoreUriCase: s.bool(),
  withoutHeaders: s.map(StringMatch),
  sourceNamespace: s.string(),
  statPrefix: s.string(),
});

export const HTTPRouteDestination = s.object({ destination: Destination, weight: s.int32(), headers: Headers });

export const HTTPRedirect = s.object(
  {
    uri: s.string(),
    authority: s.string(),
    port: s.uint32(),
    derivePort: s.enum('FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'),
    scheme: s.string(),
    redirectCode: s.uint32(),
    prefixRewrite: s.string(),
  },
  { oneOf: [['port', 'derivePort'], ['uri', 'prefixRewrite']] },
);

export const HTTPDirectResponse = s.object({
  status: s.uint32(),
  body: s.object({ string: s.string(), bytes: s.string() }, { oneOf: [['string', 'bytes']] }),
});

export const HTTPRewrite = s.object({
  uri: s.string(),
  authority: s.string(),
  uriRegexRewrite: s.object({ match: s.string(), rewrite: s.string() }),
});

export const HTTPRetry = s.object({
  attempts: s.int32(),
  perTryTimeout: s.duration(),
  retryOn: s.string(),
  retryRemoteLocalities: s.bool(),
  retryIgnorePreviousHosts: s.bool(),
  backoff: s.duration(),
});

export const HTTPFaultInjection = s.object({
  delay: s.object(
    { fixedDelay: s.duration(), exponentialDelay: s.duration(), percentage: percent(), percent: s.int32() },
    { oneOf: [['fixedDelay', 'exponentialDelay']] },
  ),
  abort: s.object(
    { httpStatus: s.int32(), grpcStatus: s.string(), http2Error: s.string(), percentage: percent() },
    { oneOf: [['httpStatus', 'grpcStatus', 'http2Error']] },
  ),
});

export const CorsPolicy = s.object({
  allowOrigin: s.list(s.string()),
  allowOrigins: s.list(StringMatch),
  allowMethods: s.list(s.string()),
  allowHeaders: s.list(s.string()),
  exposeHeaders: s.list(s.string()),
  maxAge: s.duration(),
  allowCredentials: s.bool(),
  unmatchedPreflights: s.enum('UNSPECIFIED', 'FORWARD', 'IGNORE'),
});

export const HTTPRoute = s.object(
  {
    name: s.string(),
    match: s.list(HTTPMatchRequest),
    route: s.list(HTTPRouteDestination),
    redirect: HTTPRedirect,
    directResponse: HTTPDirectResponse,
    delegate: s.object({ name: s.string(), namespace: s.string() }),
    rewrite: HTTPRewrite,
    timeout: s.duration(),
    retries: HTTPRetry,
    fault: HTTPFaultInjection,
    mirror: Destination,
    mirrors: s.list(s.object({ destination: Destination, percentage: percent() })),
    mirrorPercent: s.uint32(),
    mirrorPercentage: percent(),
    corsPolicy: CorsPolicy,
    headers: Headers,
  },
  { oneOf: [['redirect', 'directResponse', 'delegate']] },
);

const RouteDestination = s.object({ destination: Destination, weight: s.int32() });

export const TCPRoute = s.object({
  match: s.list(
    s.object({
      destinationSubnets: s.list(s.string()),
      port: s.uint32(),
      sourceSubnet: s.string(),
      sourceLabels: stringMap(),
      gateways: s.list(s.string()),
      sourceNamespace: s.string(),
    }),
  ),
  route: s.list(RouteDestination),
});

export const TLSRoute = s.object({
  match: s.list(
    s.object({
      sniHosts: s.list(s.string()),
      destinationSubnets: s.list(s.string()),
      port: s.uint32(),
      sourceLabels: stringMap(),
      gateways: s.list(s.string()),
      sourceNamespace: s.string(),
    }),
  ),
  route: s.list(RouteDestination),
});

export const VirtualService = s.object({
  hosts: s.list(s.string()),
  gateways: s.list(s.string()),
  http: s.list(HTTPRoute),
  tls: s.list(TLSRoute),
  tcp: s.list(TCPRoute),
  exportTo: s.list(s.string()),
});

const TcpKeepalive = s.object({ probes: s.uint32(), time: s.duration(), interval: s.duration() });

export const ConnectionPoolSettings = s.object({
  tcp: s.object({
    maxConnections: s.int32(),
    connectTimeout: s.duration(),
    tcpKeepalive: TcpKeepalive,
    maxConnectionDuration: s.duration(),
    idleTimeout: s.duration(),
  }),
  http: s.object({
    http1MaxPendingRequests: s.int32(),
    http2MaxRequests: s.int32(),
    maxRequestsPerConnection: s.int32(),
    maxRetries: s.int32(),
    idleTimeout: s.duration(),
    h2UpgradePolicy: s.enum('DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'),
    useClientProtocol: s.bool(),
    maxConcurrentStreams: s.int32(),
    http2KeepAlive: s.object({ interval: s.duration(), timeout: s.duration() }),
  }),
});

const LocalityFailover = s.object({ from: s.string(), to: s.string() });

export const LocalityLoadBalancerSetting = s.object({
  distribute: s.list(s.object({ from: s.string(), to: s.map(s.uint32()) })),
  failover: s.list(LocalityFailover),
  failoverPriority: s.list(s.string()),
  enabled: s.bool(),
});

export const LoadBalancerSettings = s.object(
  {
    simple: s.enum('UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'),
    consistentHash: s.object(
      {
        httpHeaderName: s.string(),
        httpCookie: s.object({
          name: s.string(),
          path: s.string(),
          ttl: s.duration(),
          attributes: s.list(s.object({ name: s.string(), value: s.string() })),
        }),
        useSourceIp: s.bool(),
        httpQueryParameterName: s.string(),
        ringHash: s.object({ minimumRingSize: s.uint64() }),
        maglev: s.object({ tableSize: s.uint64() }),
        minimumRingSize: s.uint64(),
      },
      {
        oneOf: [
          ['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'],
          ['ringHash', 'maglev'],
        ],
      },
    ),
    backendUtilization: s.object({
      blackoutPeriod: s.duration(),
      weightExpirationPeriod: s.duration(),
      weightUpdatePeriod: s.duration(),
      weightStabilizationPeriod: s.duration(),
      errorUtilizationPenaltyPercent: s.double(),
      metricNamesForComputingUtilization: s.list(s.string()),
    }),
    localityLbSetting: LocalityLoadBalancerSetting,
    zoneAwareLbSetting: s.object({
      enabled: s.bool(),
      minClusterSize: s.uint32(),
      failover: s.list(LocalityFailover),
      failoverPriority: s.list(s.string()),
    }),
    warmupDurationSecs: s.duration(),
    warmup: s.object({ duration: s.duration(), minimumPercent: s.double(), aggression: s.double() }),
  },
  { oneOf: [['simple', 'consistentHash', 'backendUtilization']] },
);

export const OutlierDetection = s.object({
  splitExternalLocalOriginErrors: s.bool(),
  consecutiveLocalOriginFailures: s.uint32(),
  consecutiveGatewayErrors: s.uint32(),
  consecutive5xxErrors: s.uint32(),
  consecutiveErrors: s.int32(),
  interval: s.duration(),
  baseEjectionTime: s.duration(),
  maxEjectionPercent: s.int32(),
  minHealthPercent: s.int32(),
  outlierDetectionHttpErrorCodes: s.list(s.uint32()),
});

export const ClientTLSSettings = s.object({
  mode: s.enum('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'),
  clientCertificate: s.string(),
  privateKey: s.string(),
  caCertificates: s.string(),
  credentialName: s.string(),
  subjectAltNames: s.list(s.string()),
  sni: s.string(),
  insecureSkipVerify: s.bool(),
  caCrl: s.string(),
});

const trafficPolicyFields = {
  loadBalancer: LoadBalancerSettings,
  connectionPool: ConnectionPoolSettings,
  outlierDetection: OutlierDetection,
  tls: ClientTLSSettings,
};

export const PortTrafficPolicy = s.object({ port: PortSelector, ...trafficPolicyFields });

export const TrafficPolicy = s.object({
  ...trafficPolicyFields,
  portLevelSettings: s.list(PortTrafficPolicy),
  tunnel: s.object({ protocol: s.string(), targetHost: s.string(), targetPort: s.uint32() }),
  proxyProtocol: s.object({ version: s.enum('V1', 'V2') }),
  retryBudget: s.object({ percent: s.double(), minRetryConcurrency: s.uint32(), budgetInterval: s.duration() }),
});

export const Subset = s.object({ name: s.string(), labels: stringMap(), trafficPolicy: TrafficPolicy });

const WorkloadSelectorMatchLabels = s.object({ matchLabels: stringMap() });
const WorkloadSelectorLabels = s.object({ labels: stringMap() });

export const DestinationRule = s.object({
  host: s.string(),
  trafficPolicy: TrafficPolicy,
  subsets: s.list(Subset),
  exportTo: s.list(s.string()),
  workloadSelector: WorkloadSelectorMatchLabels,
});

export const Port = s.object({ number: s.uint32(), protocol: s.string(), name: s.string(), targetPort: s.uint32() });

const TLSVersion = () => s.enum('TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3');

export const ServerTLSSettings = s.object({
  httpsRedirect: s.bool(),
  mode: s.enum('PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'),
  serverCertificate: s.string(),
  privateKey: s.string(),
  caCertificates: s.string(),
  caCrl: s.string(),
  credentialName: s.string(),
  credentialNames: s.list(s.string()),
  caCertCredentialName: s.string(),
  tlsCertificates: s.list(s.object({ serverCertificate: s.string(), privateKey: s.string(), caCertificates: s.string() })),
  subjectAltNames: s.list(s.string()),
  verifyCertificateSpki: s.list(s.string()),
  verifyCertificateHash: s.list(s.string()),
  minProtocolVersion: TLSVersion(),
  maxProtocolVersion: TLSVersion(),
  cipherSuites: s.list(s.string()),
  ecdhCurves: s.list(s.string()),
  insecureSkipVerify: s.bool(),
});

export const Server = s.object({
  port: Port,
  bind: s.string(),
  hosts: s.list(s.string()),
  tls: ServerTLSSettings,
  defaultEndpoint: s.string(),
  name: s.string(),
});

export const Gateway = s.object({ servers: s.list(Server), selector: stringMap() });

export const WorkloadEntry = s.object({
  address: s.string(),
  ports: s.map(s.uint32()),
  labels: stringMap(),
  network: s.string(),
  locality: s.string(),
  weight: s.uint32(),
  serviceAccount: s.string(),
});

export const ServiceEntry = s.object({
  hosts: s.list(s.string()),
  addresses: s.list(s.string()),
  ports: s.list(Port),
  location: s.enum('MESH_EXTERNAL', 'MESH_INTERNAL'),
  resolution: s.enum('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'),
  endpoints: s.list(WorkloadEntry),
  workloadSelector: WorkloadSelectorLabels,
  exportTo: s.list(s.string()),
  subjectAltNames: s.list(s.string()),
});

const CaptureMode = () => s.enum('DEFAULT', 'IPTABLES', 'NONE');

export const Sidecar = s.object({
  workloadSelector: WorkloadSelectorLabels,
  ingress: s.list(
    s.object({
      port: Port,
      bind: s.string(),
      captureMode: CaptureMode(),
      defaultEndpoint: s.string(),
      tls: ServerTLSSettings,
      connectionPool: ConnectionPoolSettings,
    }),
  ),
  egress: s.list(s.object({ port: Port, bind: s.string(), captureMode: CaptureMode(), hosts: s.list(s.string()) })),
  inboundConnectionPool: ConnectionPoolSettings,
  outboundTrafficPolicy: s.object({ mode: s.enum('REGISTRY_ONLY', 'ALLOW_ANY'), egressProxy: Destination }),
});

export const WorkloadGroup = s.object({
  metadata: s.object({ labels: stringMap(), annotations: stringMap() }),
  template: WorkloadEntry,
  probe: s.object(
    {
      initialDelaySeconds: s.int32(),
      timeoutSeconds: s.int32(),
      periodSeconds: s.int32(),
      successThreshold: s.int32(),
      failureThreshold: s.int32(),
      httpGet: s.object({
        path: s.string(),
        port: s.uint32(),
        host: s.string(),
        scheme: s.string(),
        httpHeaders: s.list(s.object({ name: s.string(), value: s.string() })),
      }),
      tcpSocket: s.object({ host: s.string(), port: s.uint32() }),
      exec: s.object({ command: s.list(s.string()) }),
      grpc: s.object({ port: s.uint32(), service: s.string() }),
    },
    { oneOf: [['httpGet', 'tcpSocket', 'exec', 'grpc']] },
  ),
});

export type StringMatch = Infer<typeof StringMatch>;
export type Destination = Infer<typeof Destination>;
export type Headers = Infer<typeof Headers>;
export type HTTPMatchRequest = Infer<typeof HTTPMatchRequest>;
export type HTTPRouteDestination = Infer<typeof HTTPRouteDestination>;
export type HTTPRoute = Infer<typeof HTTPRoute>;
export type TCPRoute = Infer<typeof TCPRoute>;
export type TLSRoute = Infer<typeof TLSRoute>;
export type VirtualService = Infer<typeof VirtualService>;
export type TrafficPolicy = Infer<typeof TrafficPolicy>;
export type PortTrafficPolicy = Infer<typeof PortTrafficPolicy>;
export type LoadBalancerSettings = Infer<typeof LoadBalancerSettings>;
export type Subset = Infer<typeof Subset>;
export type DestinationRule = Infer<typeof DestinationRule>;
export type Port = Infer<typeof Port>;
export type Gateway = Infer<typeof Gateway>;
export type WorkloadEntry = Infer<typeof WorkloadEntry>;
export type ServiceEntry = Infer<typeof ServiceEntry>;
export type Sidecar = Infer<typeof Sidecar>;
export type WorkloadGroup = Infer<typeof WorkloadGroup>;
