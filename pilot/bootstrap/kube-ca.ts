// The CA in Kubernetes mode: its self-signed root shared through istio-ca-secret, workloads
// authenticated by TokenReview, and node agents allowed only their own node's identities.
import type { Logger } from 'pino';
import type { CitadelOptions } from '../../citadel/index.js';
import { loadCitadelConfig } from '../../citadel/config.js';
import { pluginBundleState, signingCaFiles } from '../../citadel/keymaterial.js';
import { KubeJwtAuthenticator, tokenAudiences } from '../../citadel/kube-jwt.js';
import type { ConfigStore } from '../config/store.js';
import { useSharedSelfSignedRoot } from '../kube/ca-secret.js';
import type { KubeClient } from '../kube/client.js';
import { nodeAuthorizer } from '../kube/node-authorizer.js';
import { tokenReviewer } from '../kube/token-review.js';

/**
 * Readies the state directory with the mesh's shared root (unless a plug-in CA is mounted) and
 * returns the CA's Kubernetes authentication. Identities are named in the mesh config's trust
 * domain, as the SANs proxies check.
 */
export async function prepareKubeCa(
  kube: KubeClient,
  store: ConfigStore,
  env: NodeJS.ProcessEnv,
  namespace: string,
  trustDomain: () => string,
  log: Logger,
): Promise<Pick<CitadelOptions, 'authenticators' | 'authorizeImpersonation'>> {
  const config = loadCitadelConfig(env);
  if ((await pluginBundleState(signingCaFiles(config.rootCaDir))) !== 'complete') await useSharedSelfSignedRoot(kube, namespace, config, log);
  return {
    authenticators: [new KubeJwtAuthenticator(tokenReviewer(kube), tokenAudiences(env), trustDomain, env.CLUSTER_ID || 'Kubernetes')],
    authorizeImpersonation: nodeAuthorizer(store),
  };
}
