// Whether a workload's service account may read the Secrets of its namespace, asked of the API
// server by SubjectAccessReview (`list secrets`), as istiod asks before serving a Secret over
// SDS: a sidecar must not obtain through the mesh what RBAC denies it. Answers are kept five
// minutes when yes and one minute when no, as on istiod.
//
// Translation cannot wait for the API server, so `allowed` answers from what is known (no, until
// a first answer) and asks in the background; a changed answer calls `onChange`, which pushes
// SDS again.
import type { Logger } from 'pino';
import type { KubeClient } from './client.js';

const ALLOWED_TTL_MS = 5 * 60_000;
const DENIED_TTL_MS = 60_000;
/** How long an expired yes is still believed while it is asked again. */
const REFRESH_GRACE_MS = 10_000;

interface Answer {
  allowed: boolean;
  until: number;
}

export class SecretAccessReviewer {
  private readonly answers = new Map<string, Answer>();
  private readonly asking = new Set<string>();

  constructor(
    private readonly client: KubeClient,
    private readonly onChange: () => void,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  allowed = (namespace: string, serviceAccount: string): boolean => {
    const key = `${namespace}/${serviceAccount}`;
    const known = this.answers.get(key);
    const now = this.now();
    if (!known || known.until <= now) void this.ask(key, namespace, serviceAccount, known?.allowed);
    // An expired yes holds only while its refresh is under way: RBAC revoked must take effect.
    return known !== undefined && known.allowed && known.until + REFRESH_GRACE_MS > now;
  };

  private async ask(key: string, namespace: string, serviceAccount: string, before: boolean | undefined): Promise<void> {
    if (this.asking.has(key)) return;
    this.asking.add(key);
    let allowed = false;
    try {
      const review = await this.client.json<{ status?: { allowed?: boolean; reason?: string } }>('/apis/authorization.k8s.io/v1/subjectaccessreviews', {
        method: 'POST',
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: `system:serviceaccount:${namespace}:${serviceAccount}`,
            groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
            resourceAttributes: { namespace, verb: 'list', resource: 'secrets' },
          },
        },
      });
      allowed = review.status?.allowed === true;
      if (!allowed) this.log?.info({ namespace, serviceAccount, reason: review.status?.reason }, `${serviceAccount}/${namespace} is not authorized to read secrets`);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, namespace, serviceAccount }, 'SubjectAccessReview failed; treating as not authorized');
    } finally {
      this.asking.delete(key);
    }
    const now = this.now();
    // Answers of service accounts nobody asked about lately go (no growth with churn).
    for (const [k, a] of this.answers) if (a.until + ALLOWED_TTL_MS < now) this.answers.delete(k);
    this.answers.set(key, { allowed, until: now + (allowed ? ALLOWED_TTL_MS : DENIED_TTL_MS) });
    if (allowed !== (before ?? false)) this.onChange();
  }
}
