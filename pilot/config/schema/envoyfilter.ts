// networking.istio.io kinds Isthmus validates as Istio does but does not translate: EnvoyFilter
// (Envoy patches are not applied) and ProxyConfig, with the constraints and CEL rules of the CRDs.
import { s, type Infer } from './dsl.js';
import { countSet, NetworkingWorkloadSelector, PolicyTargetReference, port, stringMap, WorkloadSelector } from './common.js';

const EnvoyFilterMatch = () =>
  s
    .object(
      {
        context: s.enum('ANY', 'SIDECAR_INBOUND', 'SIDECAR_OUTBOUND', 'GATEWAY', 'WAYPOINT'),
        proxy: s.object({ proxyVersion: s.string(), metadata: stringMap() }),
        listener: s.object({
          portNumber: s.uint32(),
          portName: s.string(),
          filterChain: s.object({
            name: s.string(),
            sni: s.string(),
            transportProtocol: s.string(),
            applicationProtocols: s.string(),
            filter: s.object({ name: s.string(), subFilter: s.object({ name: s.string() }) }),
            destinationPort: s.uint32(),
            transportSocket: s.string(),
          }),
          listenerFilter: s.string(),
          name: s.string(),
        }),
        routeConfiguration: s.object({
          portNumber: s.uint32(),
          portName: s.string(),
          gateway: s.string(),
          vhost: s.object({
            name: s.string(),
            route: s.object({ name: s.string(), action: s.enum('ANY', 'ROUTE', 'REDIRECT', 'DIRECT_RESPONSE') }),
            domainName: s.string(),
          }),
          name: s.string(),
        }),
        cluster: s.object({ portNumber: s.uint32(), service: s.string(), subset: s.string(), name: s.string() }),
        waypoint: s.object({
          portNumber: port(),
          route: s.object({ name: s.string() }),
          filter: s.object({ name: s.string(), subFilter: s.object({ name: s.string() }) }),
        }),
      },
      { oneOf: [['listener', 'routeConfiguration', 'cluster', 'waypoint']] },
    )
    .rule(
      'only support waypointMatch when context is WAYPOINT',
      (m) => (m.context === 'WAYPOINT') === (m.waypoint !== undefined),
      'has(self.context) ? ((self.context == "WAYPOINT") ? has(self.waypoint) : !has(self.waypoint)) : !has(self.waypoint)',
    );

export const EnvoyFilter = s
  .object({
    workloadSelector: NetworkingWorkloadSelector(),
    targetRefs: s.list(PolicyTargetReference()).maxItems(16),
    configPatches: s.list(
      s.object({
        applyTo: s.enum(
          'INVALID', 'LISTENER', 'FILTER_CHAIN', 'NETWORK_FILTER', 'HTTP_FILTER', 'ROUTE_CONFIGURATION', 'VIRTUAL_HOST', 'HTTP_ROUTE',
          'CLUSTER', 'EXTENSION_CONFIG', 'BOOTSTRAP', 'LISTENER_FILTER',
        ),
        match: EnvoyFilterMatch(),
        patch: s.object({
          operation: s.enum('INVALID', 'MERGE', 'ADD', 'REMOVE', 'INSERT_BEFORE', 'INSERT_AFTER', 'INSERT_FIRST', 'REPLACE', 'MERGE_AND_REPLACE_LIST'),
          value: s.json(),
          filterClass: s.enum('UNSPECIFIED', 'AUTHN', 'AUTHZ', 'STATS'),
        }),
      }),
    ),
    priority: s.int32(),
  })
  .rule(
    'only one of targetRefs or workloadSelector can be set',
    (e) => countSet(e, 'workloadSelector', 'targetRefs') <= 1,
    '(has(self.workloadSelector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1',
  );

export const ProxyConfig = s.object({
  selector: WorkloadSelector(),
  concurrency: s.int32().bounds(0).allowNull(),
  environmentVariables: s.map(s.string().maxLength(2048)),
  image: s.object({ imageType: s.string() }),
});

export type EnvoyFilter = Infer<typeof EnvoyFilter>;
export type ProxyConfig = Infer<typeof ProxyConfig>;
