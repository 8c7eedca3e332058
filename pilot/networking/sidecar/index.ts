// Generators for Envoy sidecars (the default when node metadata names no other generator).
import { TYPE } from '../envoy.js';
import { loadAssignments } from '../endpoints.js';
import type { GeneratorSet } from '../generator.js';
import { sidecarClusters } from './clusters.js';
import { sidecarListeners } from './listeners.js';
import { sidecarRoutes } from './routes.js';
import { secretsGenerator } from '../sds/secrets.js';

export const sidecarGenerators: GeneratorSet = {
  byType: {
    [TYPE.listener]: sidecarListeners,
    [TYPE.route]: sidecarRoutes,
    [TYPE.cluster]: sidecarClusters,
    [TYPE.endpoint]: loadAssignments,
    [TYPE.secret]: secretsGenerator,
  },
};
