// Kubernetes Ingress → Istio Gateway and VirtualService, as istiod's ingress controller converts
// them (pilot/pkg/config/kube/ingress): one Gateway per Ingress (HTTPS servers for its TLS
// entries, an HTTP server for every host), one VirtualService per host across all Ingresses,
// with `internal.istio.io/route-semantics: ingress` (Envoy path_separated_prefix for prefixes).
import type { ConfigStore } from '../store.js';
import type { Resource } from '../resource.js';
import type * as net from '../schema/networking.js';
import type { IngressBackend, IngressClassSpec, IngressRule, IngressSpec } from '../schema/ingress.js';
import type { ServiceSpec } from '../schema/kubernetes.js';
import { ANNOTATION, compareStrings, derivedResource, INGRESS_GATEWAY_NAME, origin, timeOf, type DerivedResource } from './common.js';

/** The mesh config fields the ingress controller reads (MeshConfig.ingress*). */
export interface IngressSettings {
  ingressControllerMode: 'OFF' | 'STRICT' | 'DEFAULT';
  ingressClass: string;
  ingressService: string;
  ingressSelector: string;
}

/** Istio's defaults (mesh.DefaultMeshConfig). */
export function defaultIngressSettings(): IngressSettings {
  return { ingressControllerMode: 'STRICT', ingressClass: 'istio', ingressService: 'istio-ingressgateway', ingressSelector: '' };
}

export const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const ISTIO_INGRESS_CONTROLLER = 'istio.io/ingress-controller';

/** Where the generated Gateways live (K8S_INGRESS_NS, default istio-system). */
export function ingressNamespace(): string {
  return process.env.K8S_INGRESS_NS || 'istio-system';
}

/** Istio's `shouldProcessIngressWithClass`. */
export function shouldProcessIngress(settings: IngressSettings, ingress: Resource<IngressSpec>, ingressClass: IngressClassSpec | undefined): boolean {
  const annotated = ingress.meta.annotations[INGRESS_CLASS_ANNOTATION];
  if (annotated !== undefined) {
    return settings.ingressControllerMode !== 'OFF' && annotated === settings.ingressClass;
  }
  if (ingressClass) return ingressClass.controller === ISTIO_INGRESS_CONTROLLER;
  return settings.ingressControllerMode === 'DEFAULT';
}

/** Istio's `getIngressGatewaySelector`. */
export function ingressGatewaySelector(settings: IngressSettings): Record<string, string> {
  if (settings.ingressSelector) return { istio: settings.ingressSelector };
  if (settings.ingressService && settings.ingressService !== 'istio-ingressgateway') return { istio: settings.ingressService };
  return { istio: 'ingressgateway' };
}

export interface IngressConversion {
  gateways: DerivedResource<net.Gateway>[];
  virtualServices: DerivedResource<net.VirtualService>[];
}

interface RuleRef {
  ingress: Resource<IngressSpec>;
  index: number;
  rule: IngressRule;
}

export function convertIngresses(store: ConfigStore, settings: IngressSettings, domainSuffix: string): IngressConversion {
  const classes = new Map(store.list<IngressClassSpec>('IngressClass').map((c) => [c.meta.name, c.spec]));
  const supported = store
    .list<IngressSpec>('Ingress')
    .filter((i) => shouldProcessIngress(settings, i, i.spec.ingressClassName ? classes.get(i.spec.ingressClassName) : undefined));
  const gwNamespace = ingressNamespace();

  const gateways = supported.map((i) => ingressGateway(i, settings, gwNamespace));

  const rulesByHost = new Map<string, RuleRef[]>();
  for (const ingress of supported) {
    (ingress.spec.rules ?? []).forEach((rule, index) => {
      if (!rule.http) return; // "no paths defined"
      const host = rule.host || '*';
      let list = rulesByHost.get(host);
      if (!list) rulesByHost.set(host, (list = []));
      list.push({ ingress, index, rule });
    });
  }
  const services = (ns: string, name: string) => store.get<ServiceSpec>('Service', ns, name)?.spec;
  const virtualServices: DerivedResource<net.VirtualService>[] = [];
  for (const [host, rules] of rulesByHost) {
    rules.sort(
      (a, b) =>
        timeOf(a.ingress.meta.creationTimestamp) - timeOf(b.ingress.meta.creationTimestamp) ||
        compareStrings(a.ingress.meta.name, b.ingress.meta.name) ||
        compareStrings(a.ingress.meta.namespace, b.ingress.meta.namespace) ||
        a.index - b.index,
    );
    const http: net.HTTPRoute[] = [];
    for (const r of rules) http.push(...convertIngressRule(r.rule, r.ingress.meta.namespace, domainSuffix, services));
    sortIngressRoutes(http);
    const first = rules[0]!.ingress;
    virtualServices.push(
      derivedResource<net.VirtualService>(
        'VirtualService',
        {
          name: `${host.replaceAll('.', '-')}-${first.meta.name}-${INGRESS_GATEWAY_NAME}`,
          namespace: first.meta.namespace,
          annotations: { [ANNOTATION.routeSemantics]: 'ingress' },
        },
        { hosts: [host], gateways: [`${gwNamespace}/${first.meta.name}-${INGRESS_GATEWAY_NAME}-${first.meta.namespace}`], http },
        [...new Map(rules.map((r) => [`${r.ingress.meta.namespace}/${r.ingress.meta.name}`, origin(r.ingress)])).values()],
      ),
    );
  }
  return { gateways, virtualServices };
}

function ingressGateway(ingress: Resource<IngressSpec>, settings: IngressSettings, gwNamespace: string): DerivedResource<net.Gateway> {
  const { name, namespace } = ingress.meta;
  const servers: net.Gateway['servers'] & object = [];
  (ingress.spec.tls ?? []).forEach((tls, i) => {
    if (!tls.secretName) return; // "no secretName defined"
    servers.push({
      port: { number: 443, protocol: 'HTTPS', name: `https-443-ingress-${name}-${namespace}-${i}` },
      hosts: tls.hosts?.length ? [...tls.hosts] : ['*'],
      tls: { mode: 'SIMPLE', credentialName: tls.secretName },
    });
  });
  servers.push({ port: { number: 80, protocol: 'HTTP', name: `http-80-ingress-${name}-${namespace}` }, hosts: ['*'] });
  return derivedResource<net.Gateway>(
    'Gateway',
    { name: `${name}-${INGRESS_GATEWAY_NAME}-${namespace}`, namespace: gwNamespace },
    { selector: ingressGatewaySelector(settings), servers },
    [origin(ingress)],
  );
}

type ServiceLookup = (namespace: string, name: string) => ServiceSpec | undefined;

function convertIngressRule(rule: IngressRule, namespace: string, domainSuffix: string, services: ServiceLookup): net.HTTPRoute[] {
  const out: net.HTTPRoute[] = [];
  for (const path of rule.http?.paths ?? []) {
    let uri: net.StringMatch | undefined;
    const value = path.path ?? '';
    switch (path.pathType) {
      case 'Exact':
        uri = { exact: value };
        break;
      case 'Prefix':
        uri = { prefix: value };
        break;
      default:
        uri = fallbackStringMatch(value);
    }
    const route = backendRoute(path.backend, namespace, domainSuffix, services);
    if (!route) continue; // "no backend defined for path"
    if (uri) route.match = [{ uri }];
    out.push(route);
  }
  return out;
}

/** Istio's `createFallbackStringMatch` (ImplementationSpecific and unset path types). */
export function fallbackStringMatch(s: string): net.StringMatch | undefined {
  if (s === '' || s === '*' || s === '/*' || s === '.*') return undefined;
  if (s.endsWith('.*')) return { prefix: s.slice(0, -2) };
  if (s.endsWith('/*')) return { prefix: s.slice(0, -2) };
  return { exact: s };
}

function backendRoute(backend: IngressBackend | undefined, namespace: string, domainSuffix: string, services: ServiceLookup): net.HTTPRoute | undefined {
  const svc = backend?.service;
  if (!svc?.name) return undefined;
  let port = svc.port?.number ?? 0;
  if (port <= 0) {
    const found = services(namespace, svc.name)?.ports?.find((p) => p.name === svc.port?.name);
    if (!found?.port) return undefined; // "failed to resolve named port"
    port = found.port;
  }
  return { route: [{ destination: { host: `${svc.name}.${namespace}.svc.${domainSuffix}`, port: { number: port } }, weight: 100 }] };
}

function uriLength(route: net.HTTPRoute): { length: number; exact: boolean } {
  const uri = route.match?.[0]?.uri;
  if (!route.match?.length) return { length: 0, exact: false };
  if (uri?.exact !== undefined) return { length: uri.exact.length, exact: true };
  if (uri?.prefix !== undefined) return { length: uri.prefix.length, exact: false };
  return { length: -1, exact: false };
}

/** Kubernetes' precedence for Ingress paths: longest first, exact before prefix at equal length (stable). */
function sortIngressRoutes(routes: net.HTTPRoute[]): void {
  const keyed = routes.map((r, i) => ({ r, i, ...uriLength(r) }));
  keyed.sort((a, b) => {
    if (a.length !== b.length) return b.length - a.length;
    if (a.exact !== b.exact) return a.exact ? -1 : 1;
    return a.i - b.i;
  });
  keyed.forEach((k, i) => (routes[i] = k.r));
}
