// Generators for Envoy sidecars (the default when node metadata names no other generator).
import { anyPack } from '@bufbuild/protobuf/wkt';
import { ClusterLoadAssignmentSchema } from '../../../gen/envoy/config/endpoint/v3/endpoint_pb.js';
import { TYPE } from '../envoy.js';
import { buildLoadAssignment } from '../endpoints.js';
import type { GeneratorSet } from '../generator.js';
import { sidecarClusters } from './clusters.js';
import { sidecarListeners } from './listeners.js';
import { sidecarRoutes } from './routes.js';

export const sidecarGenerators: GeneratorSet = {
  byType: {
    [TYPE.listener]: sidecarListeners,
    [TYPE.route]: sidecarRoutes,
    [TYPE.cluster]: sidecarClusters,
    [TYPE.endpoint]: (push, proxy, watch) =>
      watch.names.map((name) => ({ name, resource: anyPack(ClusterLoadAssignmentSchema, buildLoadAssignment(push, proxy, name)) })),
  },
};
