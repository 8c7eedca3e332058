// Which identities may hold a proxy's xDS stream (istiod's checkConnectionIdentity), and how the
// switches that govern it are read.
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { checkConnectionIdentity, XdsStatusError } from '../pilot/xds/authentication.js';
import { envBool } from '../pilot/util/env-bool.js';
import { proxyFromNode } from '../pilot/model/proxy.js';
import { sidecarNode } from './support/ads-client.js';

describe('xDS stream identity check', () => {
  const denied = (proxy: { namespace: string; serviceAccount?: string }, ids: string[]) => {
    try {
      checkConnectionIdentity(proxy, ids);
    } catch (e) {
      assert.ok(e instanceof XdsStatusError);
      assert.equal(e.code, status.PERMISSION_DENIED);
      return e.message;
    }
    assert.fail('expected the identity check to refuse');
  };

  it('accepts the first identity naming the proxy namespace and service account, skipping malformed ones', () => {
    const id = checkConnectionIdentity({ namespace: 'shop', serviceAccount: 'cart' }, ['not-spiffe', 'spiffe://td/ns/shop/sa/other', 'spiffe://td/ns/shop/sa/cart']);
    assert.deepEqual(id, { trustDomain: 'td', namespace: 'shop', serviceAccount: 'cart' });
  });

  it('lets any service account through when the node names none', () => {
    assert.equal(checkConnectionIdentity({ namespace: 'shop' }, ['spiffe://cluster.local/ns/shop/sa/anything']).serviceAccount, 'anything');
  });

  it('checks an empty NAMESPACE against the node id\'s namespace, not as "any namespace"', () => {
    const proxy = proxyFromNode(sidecarNode({ namespace: 'shop', metadata: { NAMESPACE: '' } }), 'cluster.local');
    assert.equal(proxy.namespace, 'shop');
    assert.throws(() => checkConnectionIdentity(proxy, ['spiffe://cluster.local/ns/other/sa/x']), XdsStatusError);
  });

  it('refuses identities of another namespace or account with Istio\'s message', () => {
    assert.equal(denied({ namespace: 'default' }, ['spiffe://cluster.local/ns/shop/sa/cart']), 'authorization failed: no identities ([spiffe://cluster.local/ns/shop/sa/cart]) matched default/');
    assert.equal(
      denied({ namespace: 'shop', serviceAccount: 'cart' }, ['spiffe://cluster.local/ns/shop/sa/a', 'spiffe://cluster.local/ns/shop/sa/b']),
      'authorization failed: no identities ([spiffe://cluster.local/ns/shop/sa/a spiffe://cluster.local/ns/shop/sa/b]) matched shop/cart',
    );
    assert.match(denied({ namespace: 'shop' }, []), /no identities \(\[\]\)/);
    assert.match(denied({ namespace: 'shop' }, ['spiffe://cluster.local/ns/shop']), /matched shop\/$/);
  });
});

describe('boolean environment variables (Go ParseBool)', () => {
  it('reads Go\'s spellings and keeps the default for anything else', () => {
    for (const v of ['1', 't', 'T', 'true', 'TRUE', 'True']) assert.equal(envBool(v, false), true, v);
    for (const v of ['0', 'f', 'F', 'false', 'FALSE', 'False']) assert.equal(envBool(v, true), false, v);
    const invalid: string[] = [];
    for (const v of [undefined, '', 'no', 'off', 'yes', ' false']) {
      assert.equal(envBool(v, true, (x) => invalid.push(x)), true, String(v));
      assert.equal(envBool(v, false), false, String(v));
    }
    assert.deepEqual(invalid, ['no', 'off', 'yes', ' false']);
  });
});
