// Who may ask for another workload's certificate (CA_TRUSTED_NODE_ACCOUNTS, e.g. ztunnel):
// only for identities that run on the caller's own node, as istiod's node authorizer decides it.
// The caller's pod comes from its TokenReview (pod name and UID); the pods of each node from the
// Pods the config source watches.
import type { Caller } from '../../citadel/authenticate.js';
import type { ImpersonationAuthorizer } from '../../citadel/index.js';
import type { ConfigStore } from '../config/store.js';
import type { PodBody } from '../config/schema/kubernetes.js';

export function nodeAuthorizer(store: ConfigStore): ImpersonationAuthorizer {
  return (caller: Caller, requested) => {
    const k = caller.kubernetes;
    if (!k?.podName || !k.podUid) throw new Error('pod name and UID are required for node authorization; the token names no pod');
    const pod = store.get<PodBody>('Pod', k.namespace, k.podName);
    if (!pod || pod.meta.uid !== k.podUid) throw new Error(`pod ${k.namespace}/${k.podName} with UID ${k.podUid} not found`);
    if ((pod.spec.spec?.serviceAccountName || 'default') !== k.serviceAccount) throw new Error(`pod ${k.namespace}/${k.podName} does not run as ${k.serviceAccount}`);
    const node = pod.spec.spec?.nodeName;
    if (!node) throw new Error(`pod ${k.namespace}/${k.podName} is not scheduled on a node`);
    const runsThere = store
      .list<PodBody>('Pod', requested.namespace)
      .some((p) => p.spec.status?.phase !== 'Failed' && p.spec.spec?.nodeName === node && (p.spec.spec?.serviceAccountName || 'default') === requested.serviceAccount);
    if (!runsThere) throw new Error(`no instances of ${requested.namespace}/${requested.serviceAccount} found on node ${node}`);
  };
}
