// networking.k8s.io/v1 Ingress and IngressClass, and the core Secret and ConfigMap objects that
// Gateway API listeners reference: the parts Isthmus reads. Unknown fields are kept silently, as
// the API server keeps them.
import { s, type Infer } from './dsl.js';

const loose = { allowUnknown: true } as const;

const ServiceBackendPort = () => s.object({ name: s.string(), number: s.int32() }, loose);

export const IngressBackend = s.object(
  {
    service: s.object({ name: s.string(), port: ServiceBackendPort() }, { ...loose, required: ['name'] }),
    resource: s.object({ apiGroup: s.string(), kind: s.string(), name: s.string() }, loose),
  },
  loose,
);

export const HTTPIngressPath = s.object(
  { path: s.string(), pathType: s.string(), backend: IngressBackend },
  { ...loose, required: ['backend'] },
);

export const IngressRule = s.object({ host: s.string(), http: s.object({ paths: s.list(HTTPIngressPath) }, loose) }, loose);

export const IngressSpec = s.object(
  {
    ingressClassName: s.string(),
    defaultBackend: IngressBackend,
    tls: s.list(s.object({ hosts: s.list(s.string()), secretName: s.string() }, loose)),
    rules: s.list(IngressRule),
  },
  loose,
);

export const IngressClassSpec = s.object(
  { controller: s.string(), parameters: s.object({ apiGroup: s.string(), kind: s.string(), name: s.string(), namespace: s.string(), scope: s.string() }, loose) },
  loose,
);

/** v1 Secret: `data` is base64 as the API carries it; `stringData` is plain text. */
export const SecretBody = s.object({ type: s.string(), data: s.map(s.string()), stringData: s.map(s.string()) }, loose);

export const ConfigMapBody = s.object({ data: s.map(s.string()), binaryData: s.map(s.string()) }, loose);

export type IngressBackend = Infer<typeof IngressBackend>;
export type IngressRule = Infer<typeof IngressRule>;
export type IngressSpec = Infer<typeof IngressSpec>;
export type IngressClassSpec = Infer<typeof IngressClassSpec>;
export type SecretBody = Infer<typeof SecretBody>;
export type ConfigMapBody = Infer<typeof ConfigMapBody>;
