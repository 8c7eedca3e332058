// Whether a service account may read its namespace's Secrets (for SDS), asked by
// SubjectAccessReview of an in-test API double (there is no kube-apiserver here), with a test clock.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../pilot/kube/client.js';
import { SecretAccessReviewer } from '../pilot/kube/secret-access.js';
import { KubeApiDouble } from './support/kube-api-double.js';
import { eventually } from './support/grpc-echo.js';

describe('SubjectAccessReview answers for SDS (against an in-test API double)', function () {
  this.timeout(20000);
  let api: KubeApiDouble;
  let dir: string;
  let rbacAllows = true;
  let reviews = 0;

  before(async () => {
    api = await KubeApiDouble.start();
    dir = mkdtempSync(join(tmpdir(), 'kube-sar-'));
    api.addHandler((req, body) => {
      if (req.url !== '/apis/authorization.k8s.io/v1/subjectaccessreviews') return undefined;
      reviews++;
      const spec = (body as { spec: { user: string; resourceAttributes: { verb: string; resource: string } } }).spec;
      const allowed = rbacAllows && spec.user === 'system:serviceaccount:edge:gw' && spec.resourceAttributes.verb === 'list' && spec.resourceAttributes.resource === 'secrets';
      return { status: 201, body: { kind: 'SubjectAccessReview', status: { allowed } } };
    });
  });

  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('says no until the API server answered, asks once, and keeps a yes five minutes', async () => {
    let now = 0;
    let changes = 0;
    const reviewer = new SecretAccessReviewer(await KubeClient.load(api.kubeconfig(dir)), () => changes++, undefined, () => now);
    reviews = 0;
    assert.equal(reviewer.allowed('edge', 'gw'), false);
    assert.equal(reviewer.allowed('edge', 'gw'), false);
    await eventually(async () => assert.equal(changes, 1));
    assert.equal(reviews, 1, 'one review for concurrent questions');
    assert.equal(reviewer.allowed('edge', 'gw'), true);
    assert.equal(reviewer.allowed('edge', 'other'), false);
    await eventually(async () => assert.equal(reviews, 2));
    assert.equal(changes, 1, 'a no that stays a no changes nothing');

    // RBAC revoked: once the yes expires it is asked again, and the answer turns.
    rbacAllows = false;
    now = 4 * 60_000;
    assert.equal(reviewer.allowed('edge', 'gw'), true, 'still within five minutes');
    now = 5 * 60_000 + 1;
    assert.equal(reviewer.allowed('edge', 'gw'), true, 'an expired yes holds while asked again');
    await eventually(async () => assert.equal(changes, 2));
    assert.equal(reviewer.allowed('edge', 'gw'), false);
  });
});
