// The Kubernetes-side controllers of istiod that isthmusd runs in Kubernetes mode.
import type { Logger } from 'pino';
import type { Citadel } from '../../citadel/index.js';
import type { ConfigStore } from '../config/store.js';
import type { KubeClient } from '../kube/client.js';
import { LeaderElection, replicaIdentity } from '../kube/leader-election.js';
import { RootCertConfigMaps } from '../kube/root-cert-configmaps.js';
import { WebhookCaBundlePatcher } from '../kube/webhook-ca-bundle.js';
import { envBool } from '../util/env-bool.js';

/**
 * The Kubernetes-side controllers of istiod that isthmusd runs: the root certificate ConfigMap in
 * every namespace, on the replica elected under istiod's lock name (ENABLE_LEADER_ELECTION=false
 * makes every replica do it, as on istiod), and the webhooks' caBundle, on every replica.
 */
export function startKubeControllers(kube: KubeClient, store: ConfigStore, citadel: Citadel, env: NodeJS.ProcessEnv, namespace: string, log: Logger): { stop(): Promise<void> } {
  const rootCerts = new RootCertConfigMaps(kube, store, {
    name: env.PILOT_CA_CERT_CONFIGMAP || 'istio-ca-root-cert',
    rootCertPem: () => citadel.rootCertPem(),
    log: log.child({ component: 'namespace-controller' }),
  });
  const webhooks = new WebhookCaBundlePatcher(kube, {
    revision: env.REVISION || 'default',
    namespace,
    rootCertPem: () => citadel.rootCertPem(),
    // Istio's switches: an empty name turns a patcher off (the names themselves select nothing).
    mutating: (env.INJECTION_WEBHOOK_CONFIG_NAME ?? 'istio-sidecar-injector') !== '',
    validating: (env.VALIDATION_WEBHOOK_CONFIG_NAME ?? 'istio-istio-system') !== '',
    log: log.child({ component: 'webhook-patcher' }),
  });
  webhooks.start();
  const unsubscribe = citadel.onRootCert(() => {
    rootCerts.syncAll();
    webhooks.resyncAll();
  });
  const elect = envBool(env.ENABLE_LEADER_ELECTION, true, (v) => log.warn({ value: v }, 'invalid boolean in ENABLE_LEADER_ELECTION, using the default (true)'));
  const election = elect
    ? new LeaderElection(kube, {
        name: 'istio-namespace-controller-election',
        namespace,
        identity: replicaIdentity(env),
        key: env.REVISION || 'default',
        onStartedLeading: () => rootCerts.startLeading(),
        onStoppedLeading: () => rootCerts.stopLeading(),
        log: log.child({ component: 'leader-election' }),
      })
    : undefined;
  if (election) election.start();
  else rootCerts.startLeading();
  return {
    async stop() {
      unsubscribe();
      webhooks.stop();
      rootCerts.stopLeading();
      await election?.stop();
    },
  };
}
