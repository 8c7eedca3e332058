// networking.istio.io schemas (v1, v1beta1 and v1alpha3 share one shape), with the constraints
// and CEL rules of Istio's CRDs.
import { s, type Infer } from './dsl.js';
import {
  countSet, duration, NetworkingWorkloadSelector, percent, port, portNameKeys, stringMap, udsAddress,
  WorkloadSelector as TypeWorkloadSelector,
} from './common.js';

const StringMatchOf = () =>
  s.object({ exact: s.string(), prefix: s.string(), regex: s.string() }, { oneOf: [['exact', 'prefix', 'regex']] });
export const StringMatch = StringMatchOf();

const PortSelectorOf = () => s.object({ number: s.uint32() });
export const PortSelector = PortSelectorOf();

const DestinationOf = () =>
  s.object(
    { host: s.string(), subset: s.string(), port: PortSelectorOf() },
    { required: ['host'], requiredMessages: { host: 'destination host is required' } },
  );
export const Destination = DestinationOf();

const HeaderOperations = () => s.object({ set: stringMap(), add: stringMap(), remove: s.list(s.string()) });
const HeadersOf = () => s.object({ request: HeaderOperations(), response: HeaderOperations() });
export const Headers = HeadersOf();

export const HTTPMatchRequest = s.object({
  name: s.string(),
  uri: StringMatchOf(),
  scheme: StringMatchOf(),
  method: StringMatchOf(),
  authority: StringMatchOf(),
  headers: s.map(StringMatchOf()),
  port: s.uint32(),
  sourceLabels: stringMap(),
  gateways: s.list(s.string()),
  queryParams: s.map(StringMatchOf()),
  ignoreUriCase: s.bool(),
  withoutHeaders: s.map(StringMatchOf()),
  sourceNamespace: s.string(),
  statPrefix: s.string(),
});

export const HTTPRouteDestination = s.object(
  { destination: DestinationOf(), weight: s.int32(), headers: HeadersOf() },
  { required: ['destination'] },
);

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
  { oneOf: [['port', 'derivePort']] },
);

export const HTTPDirectResponse = s.object(
  {
    status: s.uint32(),
    body: s.object({ string: s.string(), bytes: s.string().format('byte') }, { oneOf: [['string', 'bytes']] }),
  },
  { required: ['status'] },
);

export const HTTPRewrite = s.object({
  uri: s.string(),
  authority: s.string(),
  uriRegexRewrite: s.object({ match: s.string(), rewrite: s.string() }),
});

export const HTTPRetry = s.object({
  attempts: s.int32(),
  perTryTimeout: duration(),
  retryOn: s.string(),
  retryRemoteLocalities: s.bool().allowNull(),
  retryIgnorePreviousHosts: s.bool().allowNull(),
  backoff: duration(),
});

export const HTTPFaultInjection = s.object({
  delay: s.object(
    { fixedDelay: duration(), exponentialDelay: duration(), percentage: percent(), percent: s.int32() },
    { oneOf: [['fixedDelay', 'exponentialDelay']] },
  ),
  abort: s.object(
    { httpStatus: s.int32(), grpcStatus: s.string(), http2Error: s.string(), percentage: percent() },
    { oneOf: [['httpStatus', 'grpcStatus', 'http2Error']] },
  ),
});

export const CorsPolicy = s.object({
  allowOrigin: s.list(s.string()),
  allowOrigins: s.list(StringMatchOf()),
  allowMethods: s.list(s.string()),
  allowHeaders: s.list(s.string()),
  exposeHeaders: s.list(s.string()),
  maxAge: duration(),
  allowCredentials: s.bool().allowNull(),
  unmatchedPreflights: s.enum('UNSPECIFIED', 'FORWARD', 'IGNORE'),
});

export const HTTPMirrorPolicy = s.object({ destination: DestinationOf(), percentage: percent() }, { required: ['destination'] });

export const HTTPRoute = s.object(
  {
    name: s.string(),
    match: s.list(HTTPMatchRequest),
    route: s.list(HTTPRouteDestination),
    redirect: HTTPRedirect,
    directResponse: HTTPDirectResponse,
    delegate: s.object({ name: s.string(), namespace: s.string() }),
    rewrite: HTTPRewrite,
    timeout: duration(),
    retries: HTTPRetry,
    fault: HTTPFaultInjection,
    mirror: DestinationOf(),
    mirrors: s.list(HTTPMirrorPolicy),
    mirrorPercent: s.uint32().allowNull(),
    mirrorPercentage: percent(),
    corsPolicy: CorsPolicy,
    headers: HeadersOf(),
  },
  { aliases: { mirror_percent: 'mirrorPercent' } },
);

const RouteDestination = () => s.object({ destination: DestinationOf(), weight: s.int32() }, { required: ['destination'] });

export const L4MatchAttributes = s.object({
  destinationSubnets: s.list(s.string()),
  port: s.uint32(),
  sourceSubnet: s.string(),
  sourceLabels: stringMap(),
  gateways: s.list(s.string()),
  sourceNamespace: s.string(),
});

export const TCPRoute = s.object({ match: s.list(L4MatchAttributes), route: s.list(RouteDestination()) });

export const TLSMatchAttributes = s.object(
  {
    sniHosts: s.list(s.string()),
    destinationSubnets: s.list(s.string()),
    port: s.uint32(),
    sourceLabels: stringMap(),
    gateways: s.list(s.string()),
    sourceNamespace: s.string(),
  },
  { required: ['sniHosts'] },
);

export const TLSRoute = s.object({ match: s.list(TLSMatchAttributes), route: s.list(RouteDestination()) }, { required: ['match'] });

export const VirtualService = s.object({
  hosts: s.list(s.string()),
  gateways: s.list(s.string()),
  http: s.list(HTTPRoute),
  tls: s.list(TLSRoute),
  tcp: s.list(TCPRoute),
  exportTo: s.list(s.string()),
});

const TcpKeepalive = () => s.object({ probes: s.uint32(), time: duration(), interval: duration() });

const ConnectionPoolSettingsOf = () =>
  s.object({
    tcp: s.object({
      maxConnections: s.int32(),
      connectTimeout: duration(),
      tcpKeepalive: TcpKeepalive(),
      maxConnectionDuration: duration(),
      idleTimeout: s.duration(),
    }),
    http: s.object({
      http1MaxPendingRequests: s.int32(),
      http2MaxRequests: s.int32(),
      maxRequestsPerConnection: s.int32(),
      maxRetries: s.int32(),
      idleTimeout: duration(),
      h2UpgradePolicy: s.enum('DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'),
      useClientProtocol: s.bool(),
      maxConcurrentStreams: s.int32(),
      http2KeepAlive: s.object({ interval: duration(), timeout: duration() }),
    }),
  });
export const ConnectionPoolSettings = ConnectionPoolSettingsOf();

const LocalityFailover = () => s.object({ from: s.string(), to: s.string() });

const LocalityLoadBalancerSettingOf = () =>
  s.object({
    distribute: s.list(s.object({ from: s.string(), to: s.map(s.uint32()) })),
    failover: s.list(LocalityFailover()),
    failoverPriority: s.list(s.string()),
    enabled: s.bool().allowNull(),
  });
export const LocalityLoadBalancerSetting = LocalityLoadBalancerSettingOf();

const LoadBalancerSettingsOf = () =>
  s.object(
    {
      simple: s.enum('UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'),
      consistentHash: s.object(
        {
          httpHeaderName: s.string(),
          httpCookie: s.object(
            {
              name: s.string(),
              path: s.string(),
              ttl: s.duration(),
              attributes: s.list(s.object({ name: s.string(), value: s.string() }, { required: ['name'] })),
            },
            { required: ['name'] },
          ),
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
        weightExpirationPeriod: s.duration(),
        weightUpdatePeriod: s.duration(),
        weightStabilizationPeriod: s.duration(),
        errorUtilizationPenaltyPercent: s.uint32(),
        metricNamesForComputingUtilization: s.list(s.string()),
      }),
      localityLbSetting: LocalityLoadBalancerSettingOf(),
      zoneAwareLbSetting: s.object({
        enabled: s.bool().allowNull(),
        minClusterSize: s.uint32().bounds(1).allowNull(),
        failover: s.list(LocalityFailover()),
        failoverPriority: s.list(s.string()),
      }),
      warmupDurationSecs: duration(),
      warmup: s.object(
        {
          duration: duration(),
          minimumPercent: s.double().bounds(0, 100).allowNull(),
          aggression: s.double().bounds(0).allowNull(),
        },
        { required: ['duration'] },
      ),
    },
    { oneOf: [['simple', 'consistentHash', 'backendUtilization']] },
  );
export const LoadBalancerSettings = LoadBalancerSettingsOf();

const OutlierDetectionOf = () =>
  s.object({
    splitExternalLocalOriginErrors: s.bool(),
    consecutiveLocalOriginFailures: s.uint32().allowNull(),
    consecutiveGatewayErrors: s.uint32().allowNull(),
    consecutive5xxErrors: s.uint32().allowNull(),
    consecutiveErrors: s.int32(),
    interval: duration(),
    baseEjectionTime: duration(),
    maxEjectionPercent: s.int32(),
    minHealthPercent: s.int32(),
    outlierDetectionHttpErrorCodes: s.list(s.uint32().bounds(100, 599)),
  });
export const OutlierDetection = OutlierDetectionOf();

const ClientTLSSettingsOf = () =>
  s.object({
    mode: s.enum('DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'),
    clientCertificate: s.string(),
    privateKey: s.string(),
    caCertificates: s.string(),
    credentialName: s.string(),
    subjectAltNames: s.list(s.string()),
    sni: s.string(),
    insecureSkipVerify: s.bool().allowNull(),
    caCrl: s.string(),
  });
export const ClientTLSSettings = ClientTLSSettingsOf();

const trafficPolicyFields = () => ({
  loadBalancer: LoadBalancerSettingsOf(),
  connectionPool: ConnectionPoolSettingsOf(),
  outlierDetection: OutlierDetectionOf(),
  tls: ClientTLSSettingsOf(),
});

const PortTrafficPolicyOf = () => s.object({ port: PortSelectorOf(), ...trafficPolicyFields() });
export const PortTrafficPolicy = PortTrafficPolicyOf();

const TrafficPolicyOf = () =>
  s.object({
    ...trafficPolicyFields(),
    portLevelSettings: s.list(PortTrafficPolicyOf()).maxItems(4096),
    tunnel: s.object({ protocol: s.string(), targetHost: s.string(), targetPort: s.uint32() }, { required: ['targetHost', 'targetPort'] }),
    proxyProtocol: s.object({ version: s.enum('V1', 'V2') }),
    retryBudget: s.object({ percent: s.double().bounds(0, 100).allowNull(), minRetryConcurrency: s.uint32(), budgetInterval: s.duration() }),
  });
export const TrafficPolicy = TrafficPolicyOf();

export const Subset = s.object({ name: s.string(), labels: stringMap(), trafficPolicy: TrafficPolicyOf() }, { required: ['name'] });

export const DestinationRule = s.object(
  {
    host: s.string(),
    trafficPolicy: TrafficPolicyOf(),
    subsets: s.list(Subset),
    exportTo: s.list(s.string()),
    workloadSelector: TypeWorkloadSelector(),
  },
  { required: ['host'] },
);

const PortOf = (required?: string[]) =>
  s.object({ number: s.uint32(), protocol: s.string(), name: s.string(), targetPort: s.uint32() }, required ? { required } : {});
/** networking.v1alpha3.Port / SidecarPort (the shape Gateway and Sidecar use). */
export const Port = PortOf();

/** ServiceEntry.Port: the CRD bounds names and checks numbers. */
const ServicePortOf = () =>
  s.object(
    { number: port(), protocol: s.string().maxLength(256), name: s.string().maxLength(256), targetPort: port() },
    { required: ['number', 'name'] },
  );

const TLSVersion = () => s.enum('TLS_AUTO', 'TLSV1_0', 'TLSV1_1', 'TLSV1_2', 'TLSV1_3');

const ServerTLSSettingsOf = () =>
  s
    .object({
      httpsRedirect: s.bool(),
      mode: s.enum('PASSTHROUGH', 'SIMPLE', 'MUTUAL', 'AUTO_PASSTHROUGH', 'ISTIO_MUTUAL', 'OPTIONAL_MUTUAL'),
      serverCertificate: s.string(),
      privateKey: s.string(),
      caCertificates: s.string(),
      caCrl: s.string(),
      credentialName: s.string(),
      credentialNames: s.list(s.string()).minItems(1).maxItems(2),
      caCertCredentialName: s.string(),
      tlsCertificates: s
        .list(s.object({ serverCertificate: s.string(), privateKey: s.string(), caCertificates: s.string() }))
        .minItems(1)
        .maxItems(2),
      subjectAltNames: s.list(s.string()),
      verifyCertificateSpki: s.list(s.string()),
      verifyCertificateHash: s.list(s.string()),
      minProtocolVersion: TLSVersion(),
      maxProtocolVersion: TLSVersion(),
      cipherSuites: s.list(s.string()),
      ecdhCurves: s.list(s.string()),
      insecureSkipVerify: s.bool().allowNull(),
    })
    // The CRD names this rule after credentialName but tests credentialNames (kept as Istio has it).
    .rule(
      'only one of credentialName or tlsCertificates can be set',
      (t) => countSet(t, 'credentialNames', 'tlsCertificates') <= 1,
      '(has(self.credentialNames) ? 1 : 0) + (has(self.tlsCertificates) ? 1 : 0) <= 1',
    )
    .rule(
      'only one of credentialName or credentialNames can be set',
      (t) => countSet(t, 'credentialName', 'credentialNames') <= 1,
      '(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1',
    )
    .rule(
      'only one of credentialNames or tlsCertificates can be set',
      (t) => countSet(t, 'tlsCertificates', 'credentialNames') <= 1,
      '(has(self.tlsCertificates) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1',
    );
export const ServerTLSSettings = ServerTLSSettingsOf();

export const Server = s.object(
  {
    port: PortOf(['number', 'protocol', 'name']),
    bind: s.string(),
    hosts: s.list(s.string()),
    tls: ServerTLSSettingsOf(),
    defaultEndpoint: s.string(),
    name: s.string(),
  },
  { required: ['port', 'hosts'] },
);

export const Gateway = s.object({ servers: s.list(Server), selector: stringMap() });

const usesUdsWithPorts = (w: { address?: string; ports?: Record<string, number> }) =>
  !(w.address ?? '').startsWith('unix://') || w.ports === undefined;

const WorkloadEntryFields = () => ({
  address: udsAddress(),
  ports: s
    .map(port())
    .maxProperties(128)
    .rule('port name must be valid', portNameKeys, 'self.all(key, size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))'),
  labels: stringMap().maxProperties(256),
  network: s.string().maxLength(2048),
  locality: s.string().maxLength(2048),
  weight: s.uint32(),
  serviceAccount: s.string().maxLength(253),
});

const UDS_PORTS_CEL = '(has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports) : true';
const ADDRESS_CEL = 'has(self.address) || has(self.network)';

/** A WorkloadEntry (the kind, and a ServiceEntry endpoint): address or network required. */
const WorkloadEntryOf = () =>
  s
    .object(WorkloadEntryFields())
    .rule('Address is required', (w) => w.address !== undefined || w.network !== undefined, ADDRESS_CEL)
    .rule('UDS may not include ports', usesUdsWithPorts, UDS_PORTS_CEL);
export const WorkloadEntry = WorkloadEntryOf();

/** A WorkloadGroup template: the address is filled in per workload. */
const WorkloadTemplate = () => s.object(WorkloadEntryFields()).rule('UDS may not include ports', usesUdsWithPorts, UDS_PORTS_CEL);

const resolutionOf = (se: { resolution?: string }) => se.resolution ?? 'NONE';

export const ServiceEntry = s
  .object(
    {
      hosts: s
        .list(s.string().rule('hostname cannot be wildcard', (h) => h !== '*', 'self != "*"'))
        .minItems(1)
        .maxItems(256),
      addresses: s.list(s.string().maxLength(64)).maxItems(256),
      ports: s
        .list(ServicePortOf())
        .maxItems(256)
        .mapBy('name')
        .rule(
          'port number cannot be duplicated',
          (ports) => ports.every((a) => ports.filter((b) => b.number === a.number).length === 1),
          'self.all(l1, self.exists_one(l2, l1.number == l2.number))',
        ),
      location: s.enum('MESH_EXTERNAL', 'MESH_INTERNAL'),
      resolution: s.enum('NONE', 'STATIC', 'DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS'),
      endpoints: s.list(WorkloadEntryOf()).maxItems(4096),
      workloadSelector: NetworkingWorkloadSelector(),
      exportTo: s.list(s.string()),
      subjectAltNames: s.list(s.string()),
    },
    { required: ['hosts'] },
  )
  .rule(
    'only one of WorkloadSelector or Endpoints can be set',
    (se) => countSet(se, 'workloadSelector', 'endpoints') <= 1,
    '(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1',
  )
  .rule(
    'CIDR addresses are allowed only for NONE/STATIC resolution types',
    (se) => !((se.addresses ?? []).some((a) => a.includes('/')) && !['STATIC', 'NONE'].includes(resolutionOf(se))),
    '!((has(self.addresses) ? self.addresses : []).exists(a, a.contains("/")) && !((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))',
  )
  .rule(
    'NONE mode cannot set endpoints',
    (se) => resolutionOf(se) !== 'NONE' || se.endpoints === undefined,
    '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true',
  )
  .rule(
    'DNS_ROUND_ROBIN mode cannot have multiple endpoints',
    (se) => se.resolution !== 'DNS_ROUND_ROBIN' || (se.endpoints ?? []).length <= 1,
    '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? ((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true',
  );

const CaptureMode = () => s.enum('DEFAULT', 'IPTABLES', 'NONE');

export const Sidecar = s.object({
  workloadSelector: NetworkingWorkloadSelector(),
  ingress: s.list(
    s.object(
      {
        port: PortOf(),
        bind: s.string(),
        captureMode: CaptureMode(),
        defaultEndpoint: s.string(),
        tls: ServerTLSSettingsOf(),
        connectionPool: ConnectionPoolSettingsOf(),
      },
      { required: ['port'] },
    ),
  ),
  egress: s.list(s.object({ port: PortOf(), bind: s.string(), captureMode: CaptureMode(), hosts: s.list(s.string()) }, { required: ['hosts'] })),
  inboundConnectionPool: ConnectionPoolSettingsOf(),
  outboundTrafficPolicy: s.object({ mode: s.enum('REGISTRY_ONLY', 'ALLOW_ANY'), egressProxy: DestinationOf() }),
});

export const WorkloadGroup = s.object(
  {
    metadata: s.object({ labels: stringMap().maxProperties(256), annotations: stringMap().maxProperties(256) }),
    template: WorkloadTemplate(),
    probe: s.object(
      {
        initialDelaySeconds: s.int32().bounds(0),
        timeoutSeconds: s.int32().bounds(0),
        periodSeconds: s.int32().bounds(0),
        successThreshold: s.int32().bounds(0),
        failureThreshold: s.int32().bounds(0),
        httpGet: s.object(
          {
            path: s.string(),
            port: port(),
            host: s.string(),
            scheme: s.string().rule('scheme must be one of [HTTP, HTTPS]', (v) => ['', 'HTTP', 'HTTPS'].includes(v), 'self in ["", "HTTP", "HTTPS"]'),
            httpHeaders: s.list(s.object({ name: s.string().pattern('^[-_A-Za-z0-9]+$'), value: s.string() })),
          },
          { required: ['port'] },
        ),
        tcpSocket: s.object({ host: s.string(), port: port() }, { required: ['port'] }),
        exec: s.object({ command: s.list(s.string().minLength(1)) }, { required: ['command'] }),
        grpc: s.object({ port: port(), service: s.string() }),
      },
      { oneOf: [['httpGet', 'tcpSocket', 'exec', 'grpc']] },
    ),
  },
  { required: ['template'] },
);

export type StringMatch = Infer<typeof StringMatch>;
export type Destination = Infer<typeof Destination>;
export type Headers = Infer<typeof Headers>;
export type HTTPMatchRequest = Infer<typeof HTTPMatchRequest>;
export type HTTPRouteDestination = Infer<typeof HTTPRouteDestination>;
export type HTTPRoute = Infer<typeof HTTPRoute>;
export type TCPRoute = Infer<typeof TCPRoute>;
export type TLSRoute = Infer<typeof TLSRoute>;
export type L4MatchAttributes = Infer<typeof L4MatchAttributes>;
export type TLSMatchAttributes = Infer<typeof TLSMatchAttributes>;
export type VirtualService = Infer<typeof VirtualService>;
export type TrafficPolicy = Infer<typeof TrafficPolicy>;
export type PortTrafficPolicy = Infer<typeof PortTrafficPolicy>;
export type ConnectionPoolSettings = Infer<typeof ConnectionPoolSettings>;
export type OutlierDetection = Infer<typeof OutlierDetection>;
export type ClientTLSSettings = Infer<typeof ClientTLSSettings>;
export type LoadBalancerSettings = Infer<typeof LoadBalancerSettings>;
export type LocalityLoadBalancerSetting = Infer<typeof LocalityLoadBalancerSetting>;
export type Subset = Infer<typeof Subset>;
export type DestinationRule = Infer<typeof DestinationRule>;
export type Port = Infer<typeof Port>;
export type Server = Infer<typeof Server>;
export type ServerTLSSettings = Infer<typeof ServerTLSSettings>;
export type Gateway = Infer<typeof Gateway>;
export type WorkloadEntry = Infer<typeof WorkloadEntry>;
export type ServiceEntry = Infer<typeof ServiceEntry>;
export type Sidecar = Infer<typeof Sidecar>;
export type WorkloadGroup = Infer<typeof WorkloadGroup>;
