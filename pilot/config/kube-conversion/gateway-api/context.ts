// What the Gateway API conversion reads besides the route and gateway objects: the controller's
// feature flags, namespaces, Kubernetes Services, ServiceEntries, Secrets, ConfigMaps,
// ReferenceGrants and the service registry (Istio's GatewayContext).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { ConfigStore } from '../../store.js';
import type { Resource } from '../../resource.js';
import { configMapData, secretData, type DataMap } from '../../credentials.js';
import type { ServiceSpec } from '../../schema/kubernetes.js';
import type { ReferenceGrantSpec } from '../../schema/gateway-api.js';
import type * as net from '../../schema/networking.js';

export { extractCertInfo, extractRoot } from '../../credentials.js';

/** A service as the registry knows it (hostname, namespace, ports, labels). */
export interface RegistryService {
  hostname: string;
  namespace: string;
  labels: Record<string, string>;
  ports: readonly { port: number; name?: string }[];
}

/** The Istio feature flags that change the conversion (istiod's environment variables). */
export interface GatewayApiFeatures {
  /** PILOT_ENABLE_ALPHA_GATEWAY_API: XBackend, XBackendTrafficPolicy. */
  enableAlphaGatewayApi: boolean;
  /** ENABLE_GATEWAY_API_INFERENCE_EXTENSION: InferencePool backends. */
  enableInferenceExtension: boolean;
  /** PILOT_ENABLE_AMBIENT_WAYPOINTS: the istio-waypoint class. */
  enableAmbientWaypoints: boolean;
  /** AMBIENT_ENABLE_MULTI_NETWORK: the istio-east-west class. */
  enableAmbientMultiNetwork: boolean;
  /** PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API: the istio-remote class. */
  multiNetworkGatewayApi: boolean;
  /** ENABLE_GATEWAY_API_MANUAL_DEPLOYMENT: Gateways with a Hostname address bind to an existing Service. */
  enableManualDeployment: boolean;
  /** PILOT_GATEWAY_API_DEFAULT_GATEWAYCLASS_NAME. */
  defaultGatewayClass: string;
  /** PILOT_GATEWAY_API_CONTROLLER_NAME. */
  managedGatewayController: string;
  /** ENABLE_MCS_HOST. */
  enableMcsHost: boolean;
  /** MCS_API_GROUP. */
  mcsApiGroup: string;
}

function envBool(name: string, def: boolean): boolean {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  return v === 'true' || v === '1' || v === 'True' || v === 'TRUE';
}

/** The flags as istiod reads them, defaults included. */
export function featuresFromEnv(): GatewayApiFeatures {
  return {
    enableAlphaGatewayApi: envBool('PILOT_ENABLE_ALPHA_GATEWAY_API', false),
    enableInferenceExtension: envBool('ENABLE_GATEWAY_API_INFERENCE_EXTENSION', false),
    enableAmbientWaypoints: envBool('PILOT_ENABLE_AMBIENT_WAYPOINTS', true),
    enableAmbientMultiNetwork: envBool('AMBIENT_ENABLE_MULTI_NETWORK', false),
    multiNetworkGatewayApi: envBool('PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API', true),
    enableManualDeployment: envBool('ENABLE_GATEWAY_API_MANUAL_DEPLOYMENT', true),
    defaultGatewayClass: process.env.PILOT_GATEWAY_API_DEFAULT_GATEWAYCLASS_NAME || 'istio',
    managedGatewayController: process.env.PILOT_GATEWAY_API_CONTROLLER_NAME || 'istio.io/gateway-controller',
    enableMcsHost: envBool('ENABLE_MCS_HOST', false),
    mcsApiGroup: process.env.MCS_API_GROUP || 'multicluster.x-k8s.io',
  };
}

export interface GatewayApiInputs {
  store: ConfigStore;
  domainSuffix: string;
  features: GatewayApiFeatures;
  /** The registry's service for a hostname in one namespace (Istio's GatewayContext.GetService). */
  lookupService: (hostname: string, namespace: string) => RegistryService | undefined;
}

/** A parsed ReferenceGrant entry: `from` may reference `to` (one name or all). */
interface Grant {
  fromKind: string;
  fromNamespace: string;
  toKind: string;
  toNamespace: string;
  name?: string;
}

/** Normalized group/kind as Istio's NormalizeReference yields them; `kind` is Isthmus's store kind. */
export interface GroupKind {
  group: string;
  kind: string;
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Known Group/Kinds, by `group/kind` as references write them, to the store's kind names. */
const KNOWN_KINDS: Record<string, string> = {
  [`${GATEWAY_GROUP}/Gateway`]: 'KubernetesGateway',
  [`${GATEWAY_GROUP}/HTTPRoute`]: 'HTTPRoute',
  [`${GATEWAY_GROUP}/GRPCRoute`]: 'GRPCRoute',
  [`${GATEWAY_GROUP}/TCPRoute`]: 'TCPRoute',
  [`${GATEWAY_GROUP}/TLSRoute`]: 'TLSRoute',
  [`${GATEWAY_GROUP}/ListenerSet`]: 'ListenerSet',
  [`${GATEWAY_GROUP}/GatewayClass`]: 'GatewayClass',
  [`${GATEWAY_GROUP}/ReferenceGrant`]: 'ReferenceGrant',
  [`${GATEWAY_GROUP}/BackendTLSPolicy`]: 'BackendTLSPolicy',
  'gateway.networking.x-k8s.io/XBackend': 'XBackend',
  'gateway.networking.x-k8s.io/XBackendTrafficPolicy': 'XBackendTrafficPolicy',
  'inference.networking.k8s.io/InferencePool': 'InferencePool',
  '/Service': 'Service',
  '/Secret': 'Secret',
  '/ConfigMap': 'ConfigMap',
  '/Namespace': 'Namespace',
  'networking.istio.io/ServiceEntry': 'ServiceEntry',
};

/**
 * Istio's `NormalizeReference`: the group and kind a reference names (with defaults), mapped to
 * the store's kind when Isthmus knows the kind; otherwise `group/kind` as written.
 */
export function normalizeReference(group: string | undefined, kind: string | undefined, def: GroupKind): string {
  const g = group ?? def.group;
  const k = kind ?? def.kind;
  return KNOWN_KINDS[`${g}/${k}`] ?? `${g}/${k}`;
}


export class ConversionContext {
  readonly store: ConfigStore;
  readonly domainSuffix: string;
  readonly features: GatewayApiFeatures;
  readonly lookupService: GatewayApiInputs['lookupService'];
  private readonly grants: Grant[] = [];
  private readonly namespaceLabels = new Map<string, Record<string, string>>();

  constructor(inputs: GatewayApiInputs) {
    this.store = inputs.store;
    this.domainSuffix = inputs.domainSuffix;
    this.features = inputs.features;
    this.lookupService = inputs.lookupService;
    for (const ns of this.store.list('Namespace')) this.namespaceLabels.set(ns.meta.name, ns.meta.labels);
    for (const rg of this.store.list<ReferenceGrantSpec>('ReferenceGrant')) this.addGrant(rg);
  }

  private addGrant(rg: Resource<ReferenceGrantSpec>): void {
    for (const from of rg.spec.from ?? []) {
      const fromKind = normalizeReference(from.group ?? '', from.kind ?? '', { group: '', kind: '' });
      if (!['KubernetesGateway', 'HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'ListenerSet'].includes(fromKind)) continue;
      for (const to of rg.spec.to ?? []) {
        const toKind = normalizeReference(to.group ?? '', to.kind ?? '', { group: '', kind: '' });
        if (!['ConfigMap', 'Secret', 'Service', 'XBackend', 'InferencePool'].includes(toKind)) continue;
        this.grants.push({ fromKind, fromNamespace: from.namespace ?? '', toKind, toNamespace: rg.meta.namespace, ...(to.name ? { name: to.name } : {}) });
      }
    }
  }

  /** A ReferenceGrant lets `fromKind` objects in `fromNamespace` reference `toKind` `name` in `toNamespace`. */
  allowed(fromKind: string, fromNamespace: string, toKind: string, toNamespace: string, name: string): boolean {
    return this.grants.some(
      (g) => g.fromKind === fromKind && g.fromNamespace === fromNamespace && g.toKind === toKind && g.toNamespace === toNamespace && (g.name === undefined || g.name === name),
    );
  }

  /** Namespace labels; undefined when the namespace object does not exist. */
  namespace(name: string): Record<string, string> | undefined {
    return this.namespaceLabels.get(name);
  }

  namespaces(): [string, Record<string, string>][] {
    return [...this.namespaceLabels];
  }

  kubeService(namespace: string, name: string): Resource<ServiceSpec> | undefined {
    return this.store.get<ServiceSpec>('Service', namespace, name);
  }

  serviceEntry(namespace: string, name: string): Resource<net.ServiceEntry> | undefined {
    return this.store.get<net.ServiceEntry>('ServiceEntry', namespace, name);
  }

  secretData(namespace: string, name: string): DataMap | undefined {
    return secretData(this.store, namespace, name);
  }

  configMapData(namespace: string, name: string): DataMap | undefined {
    return configMapData(this.store, namespace, name);
  }
}

// ---- certificate material (Istio's tls.X509KeyPair; the extractors are in ../../credentials.ts) ----

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Go's `tls.X509KeyPair`: a parsable certificate whose public key matches the private key. */
export function keyPairError(cert: Buffer, key: Buffer): string | undefined {
  const pems = cert.toString('utf8').match(PEM_CERT);
  if (!pems?.length) return 'tls: failed to find any PEM data in certificate input';
  try {
    const x509 = new X509Certificate(pems[0]!);
    const pk = createPrivateKey(key);
    if (!x509.checkPrivateKey(pk)) return 'tls: private key does not match public key';
  } catch (e) {
    return `tls: ${(e as Error).message}`;
  }
  return undefined;
}

/** Go's `CertPool.AppendCertsFromPEM`: at least one certificate parses. */
export function caBundleValid(cert: Buffer): boolean {
  for (const pem of cert.toString('utf8').match(PEM_CERT) ?? []) {
    try {
      new X509Certificate(pem);
      return true;
    } catch {
      // try the next one
    }
  }
  return false;
}
