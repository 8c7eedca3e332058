// Generators for router proxies (istio-ingressgateway and other Istio Gateways' workloads).
import { TYPE } from '../envoy.js';
import type { GeneratorSet } from '../generator.js';
import { gatewayClusters, gatewayEndpoints } from './clusters.js';
import { gatewayListeners } from './listeners.js';
import { gatewayRoutes } from './routes.js';
import { secretsGenerator } from '../sds/secrets.js';

export { mergedGatewayFor } from './merge.js';

export const gatewayGenerators: GeneratorSet = {
  byType: {
    [TYPE.listener]: gatewayListeners,
    [TYPE.route]: gatewayRoutes,
    [TYPE.cluster]: gatewayClusters,
    [TYPE.endpoint]: gatewayEndpoints,
    [TYPE.secret]: secretsGenerator,
  },
};
