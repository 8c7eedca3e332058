// Which pods reach an injector at all. Istio leaves this to the API server: the chart's
// MutatingWebhookConfiguration has one webhook per case below, each with a namespaceSelector and
// an objectSelector. This reproduces those selectors, so isthmus can tell (and, when it is sent
// every pod, enforce) what Istio's installed webhooks would select:
//   - namespace `istio.io/rev=<rev>` (and no `istio-injection` label), pod not `sidecar.istio.io/inject=false`
//   - no namespace labels, pod labeled `istio.io/rev=<rev>` and not `sidecar.istio.io/inject=false`
//   - default revision only: namespace `istio-injection=enabled`, pod not `sidecar.istio.io/inject=false`
//   - default revision only: no namespace labels, pod `sidecar.istio.io/inject=true` without `istio.io/rev`
//   - default revision with enableNamespacesByDefault: no labels anywhere, outside the system namespaces

import { selectorMatches, type LabelSelector } from './config.js';
import { IGNORED_NAMESPACES } from './inject.js';

interface WebhookSelector {
  name: string;
  namespaceSelector: LabelSelector;
  objectSelector: LabelSelector;
}

/** The chart's webhooks for `revision` ('' or 'default' is the default revision). */
export function chartWebhookSelectors(revision: string, enableNamespacesByDefault = false): WebhookSelector[] {
  const rev = revision === '' ? 'default' : revision;
  const notDisabled = { key: 'sidecar.istio.io/inject', operator: 'NotIn', values: ['false'] };
  const out: WebhookSelector[] = [
    {
      name: 'rev.namespace.sidecar-injector.istio.io',
      namespaceSelector: { matchExpressions: [{ key: 'istio.io/rev', operator: 'In', values: [rev] }, { key: 'istio-injection', operator: 'DoesNotExist' }] },
      objectSelector: { matchExpressions: [notDisabled] },
    },
    {
      name: 'rev.object.sidecar-injector.istio.io',
      namespaceSelector: { matchExpressions: [{ key: 'istio.io/rev', operator: 'DoesNotExist' }, { key: 'istio-injection', operator: 'DoesNotExist' }] },
      objectSelector: { matchExpressions: [notDisabled, { key: 'istio.io/rev', operator: 'In', values: [rev] }] },
    },
  ];
  if (revision === '' || revision === 'default') {
    out.push(
      {
        name: 'namespace.sidecar-injector.istio.io',
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'In', values: ['enabled'] }] },
        objectSelector: { matchExpressions: [notDisabled] },
      },
      {
        name: 'object.sidecar-injector.istio.io',
        namespaceSelector: { matchExpressions: [{ key: 'istio-injection', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
        objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'In', values: ['true'] }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
      },
    );
    if (enableNamespacesByDefault) {
      out.push({
        name: 'auto.sidecar-injector.istio.io',
        namespaceSelector: {
          matchExpressions: [
            { key: 'istio-injection', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' },
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: IGNORED_NAMESPACES },
          ],
        },
        objectSelector: { matchExpressions: [{ key: 'sidecar.istio.io/inject', operator: 'DoesNotExist' }, { key: 'istio.io/rev', operator: 'DoesNotExist' }] },
      });
    }
  }
  return out;
}

function matches(sel: LabelSelector, labels: Record<string, string>): boolean {
  const m = selectorMatches(sel, labels);
  return m === undefined ? true : m; // an empty selector selects everything
}

/**
 * Whether the API server would send a pod to the `revision` injector: the name of the first
 * webhook selecting it, or undefined.
 */
export function selectingWebhook(o: {
  namespace: string;
  namespaceLabels?: Record<string, string>;
  podLabels?: Record<string, string>;
  revision?: string;
  enableNamespacesByDefault?: boolean;
}): string | undefined {
  const nsLabels = { 'kubernetes.io/metadata.name': o.namespace, ...o.namespaceLabels };
  const podLabels = o.podLabels ?? {};
  for (const w of chartWebhookSelectors(o.revision ?? '', o.enableNamespacesByDefault)) {
    if (matches(w.namespaceSelector, nsLabels) && matches(w.objectSelector, podLabels)) return w.name;
  }
  return undefined;
}
