// A simulated call and the result of walking it through a proxy's Envoy config, shaped like
// Istio's `pilot/pkg/simulation` (Call, Result, the Err* sentinels) so its test tables map
// one to one, plus the steps `isthmusctl x trace` shows.

export type CallProtocol = 'http' | 'http2' | 'tcp';
export type TlsMode = 'plaintext' | 'tls' | 'mtls';
/** `inbound`: iptables redirected to 15006; `outbound`: redirected to 15001; `gateway`: no capture. */
export type CallMode = 'inbound' | 'outbound' | 'gateway';

export interface Call {
  /** Destination address (the original destination for captured traffic). */
  address?: string;
  port: number;
  /** Absent behaves as TCP (not HTTP; TLS ALPN "" and mTLS ALPN "istio"). */
  protocol?: CallProtocol;
  tls?: TlsMode;
  alpn?: string;
  sni?: string;
  /** Host / :authority. */
  hostHeader?: string;
  /** :path, with an optional query string. */
  path?: string;
  /** :method (GET when absent). */
  method?: string;
  /** Other request headers, by name (case-insensitive). */
  headers?: Record<string, string | string[]>;
  callMode?: CallMode;
  /** The SDS secret name that marks Istio's workload certificate (Istio's heuristic: `default`). */
  mtlsSecretConfigName?: string;
  /** Source address and port, for filter chains that match on the source (Envoy fidelity only). */
  sourceAddress?: string;
  sourcePort?: number;
  /** The caller's identity (SPIFFE URI SAN of its certificate), seen by authorization on mTLS calls. */
  sourcePrincipal?: string;
  /** The payload of a JWT the call carries, taken as verified (authorization reads its claims). */
  jwtClaims?: Record<string, unknown>;
}

/** Istio's simulation errors, by the names of its sentinels. */
export const SIM_ERRORS = {
  ErrNoListener: 'no listener matched',
  ErrNoFilterChain: 'no filter chains matched',
  ErrNoRoute: 'no route matched',
  ErrTLSRedirect: 'tls required, sending 301',
  ErrNoVirtualHost: 'no virtual host matched',
  ErrMultipleFilterChain: 'multiple filter chains matched',
  ErrProtocolError: 'protocol error',
  ErrTLSError: 'invalid TLS',
  ErrMTLSError: 'invalid mTLS',
  /** Not one of Istio's sentinels: `Run` returns it for a plaintext call with an ALPN. */
  ErrInvalidCall: 'invalid call, ALPN can only be sent in TLS requests',
  /** Not one of Istio's sentinels (Istio's simulation does not run RBAC): Envoy's 403 body, or a closed connection. */
  ErrAccessDenied: 'RBAC: access denied',
} as const;

export type SimErrorName = keyof typeof SIM_ERRORS;

export interface SimError {
  name: SimErrorName | string;
  message: string;
  /** Why, in terms of the config (which listener, which names were tried...). */
  detail?: string;
}

export function simError(name: SimErrorName, detail?: string): SimError {
  return detail ? { name, message: SIM_ERRORS[name], detail } : { name, message: SIM_ERRORS[name] };
}

export type StepKind =
  | 'listener'
  | 'listener filters'
  | 'filter chain'
  | 'tls'
  | 'network filter'
  | 'authorization'
  | 'route config'
  | 'virtual host'
  | 'route'
  | 'cluster';

/** One decision on the way: what matched and why. */
export interface Step {
  step: StepKind;
  /** The name of the matched Envoy resource (may be empty: unnamed filter chains). */
  name: string;
  /** How it matched, in Envoy's terms. */
  detail: string;
  /** Authorization steps: the RBAC policies that decided (see simulation/rbac.ts). */
  policies?: string[];
}

export interface WeightedClusterResult {
  name: string;
  weight: number;
}

/** Istio's `simulation.Result` fields, plus what a trace needs. */
export interface Result {
  error: SimError | null;
  listener: string;
  filterChain: string;
  routeConfig: string;
  virtualHost: string;
  route: string;
  /** The route's or tcp_proxy's single cluster; empty for weighted clusters, redirects and direct responses. */
  cluster: string;
  /** Weighted clusters, when the route or tcp_proxy splits traffic. */
  weightedClusters?: WeightedClusterResult[];
  /** What the route does when it does not forward: `redirect ...` or `direct response 502`. */
  routeAction?: string;
  steps: Step[];
  /** The call after defaults were filled in. */
  call: Call;
  /** Observations that do not change the outcome (unsupported matchers, ignored fields). */
  notes: string[];
}

/** Istio's `Call.FillDefaults`. */
export function fillDefaults(input: Call): Call {
  const c: Call = { ...input, headers: { ...(input.headers ?? {}) } };
  if (!c.sni && c.tls === 'tls' && c.hostHeader) c.sni = c.hostHeader;
  if (!c.path) c.path = '/';
  if (!c.tls) c.tls = 'plaintext';
  if (!c.address) c.address = '1.3.3.7';
  if (c.tls === 'mtls' && !c.alpn) c.alpn = c.protocol === 'http' ? 'istio-http/1.1' : c.protocol === 'http2' ? 'istio-h2' : 'istio';
  if (c.tls === 'tls' && !c.alpn) c.alpn = c.protocol === 'http' ? 'http/1.1' : c.protocol === 'http2' ? 'h2' : '';
  return c;
}

/** The ALPN Envoy's HTTP inspector reports for a plaintext call. */
export function plaintextAlpn(p: CallProtocol | undefined): string {
  return p === 'http' ? 'http/1.1' : p === 'http2' ? 'h2c' : '';
}
