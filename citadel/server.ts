// istio.v1.auth.IstioCertificateService/CreateCertificate, with istiod's semantics
// (security/pkg/server/ca/server.go): authenticate, pick the identity from the caller (or an
// impersonated one for trusted node accounts), sign, and answer leaf, chain, root.
import { create } from '@bufbuild/protobuf';
import { status, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  IstioCertificateResponseSchema, IstioCertificateService, type IstioCertificateRequest, type IstioCertificateResponse,
} from '../gen/istio/v1/auth/ca_pb.js';
import { grpcServiceDefinition } from '../pilot/util/grpc-service.js';
import { authContextOf, authenticate, AuthenticationError, parseSpiffeIdentity, type Authenticator, type Caller, type SpiffeIdentity } from './authenticate.js';
import type { IstioCA } from './ca.js';
import type { NamespacedName } from './config.js';
import { CaError } from './errors.js';
import type { CitadelMetrics } from './metrics.js';
import { splitCertificates } from './pki.js';

/** Metadata keys Istio's agent sends in the request's `metadata` Struct. */
export const CERT_SIGNER = 'CertSigner';
export const IMPERSONATED_IDENTITY = 'ImpersonatedIdentity';

/**
 * Decides whether a trusted node account may get a certificate for `requested` (Istio checks that a pod
 * with that identity runs on the caller's node). Reject by throwing. Without a hook, a trusted account may
 * impersonate any well-formed identity: there is no node information without a cluster.
 */
export type ImpersonationAuthorizer = (caller: Caller, requested: SpiffeIdentity) => Promise<void> | void;

export interface CertificateServiceDeps {
  ca: IstioCA;
  authenticators: () => Authenticator[];
  trustedNodeAccounts: NamespacedName[];
  authorizeImpersonation?: ImpersonationAuthorizer;
  metrics: CitadelMetrics;
  log: Logger;
}

export const certificateServiceDefinition: ServiceDefinition = grpcServiceDefinition(IstioCertificateService);

type Callback = sendUnaryData<IstioCertificateResponse>;
type Call = ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>;

export class CertificateService {
  readonly definition = certificateServiceDefinition;
  readonly implementation: UntypedServiceImplementation;

  constructor(private readonly d: CertificateServiceDeps) {
    this.implementation = {
      createCertificate: (call: Call, callback: Callback) => {
        this.createCertificate(call).then(
          (res) => callback(null, res),
          (err: { code: status; details: string }) => callback(err),
        );
      },
    };
  }

  private fail(code: status, details: string): { code: status; details: string } {
    return { code, details };
  }

  async createCertificate(call: Call): Promise<IstioCertificateResponse> {
    const { d } = this;
    d.metrics.csr.inc();
    const req = call.request;
    const peer = call.getPeer();
    let caller: Caller;
    try {
      caller = await authenticate(authContextOf(call), d.authenticators());
    } catch (e) {
      d.metrics.authnError.inc();
      const reasons = e instanceof AuthenticationError ? e.failures : [(e as Error).message];
      d.log.warn({ client: peer, reasons }, `Failed to authenticate client from ${peer}: ${reasons.join('; ')}`);
      throw this.fail(status.UNAUTHENTICATED, 'request authenticate failure');
    }

    // The certificate carries the caller's identities, whatever the CSR asks for.
    let sans = caller.identities;
    const md = (req.metadata ?? {}) as Record<string, unknown>;
    const impersonated = typeof md[IMPERSONATED_IDENTITY] === 'string' ? (md[IMPERSONATED_IDENTITY] as string) : '';
    if (impersonated !== '') {
      try {
        await this.authorizeImpersonation(caller, impersonated);
      } catch (e) {
        d.metrics.authnError.inc();
        d.log.warn({ client: peer, caller: caller.identities, impersonated }, `impersonation failed for identity ${impersonated}: ${(e as Error).message}`);
        throw this.fail(status.UNAUTHENTICATED, 'request impersonation authentication failure');
      }
      sans = [impersonated];
    }

    const ttlSeconds = Number(req.validityDuration);
    const certSigner = typeof md[CERT_SIGNER] === 'string' ? (md[CERT_SIGNER] as string) : '';
    d.log.debug({ client: peer, sans, ttlSeconds, certSigner }, 'generating a certificate');
    let chainText: string;
    try {
      chainText = await d.ca.signWithCertChain(req.csr, { subjectIds: sans, ttlMs: ttlSeconds * 1000 });
    } catch (e) {
      const err = e instanceof CaError ? e : new CaError('UNKNOWN', (e as Error).message);
      d.log.error({ client: peer, sans, errorType: err.type }, `CSR signing error: ${err.message}`);
      d.metrics.signErrorInc(err.type);
      throw this.fail(err.grpcCode, `CSR signing error (${err.message})`);
    }

    // One certificate per entry (ztunnel relies on it), each ending in a newline; the root bundle last, unsplit,
    // so that a client can tell the root apart even when it holds several roots.
    const certChain = splitCertificates(chainText);
    const rootPem = d.ca.bundle.rootCertPem;
    if (rootPem) certChain.push(rootPem);
    d.metrics.success.inc();
    d.log.debug({ client: peer, sans }, 'CSR successfully signed');
    return create(IstioCertificateResponseSchema, { certChain });
  }

  /** CA_TRUSTED_NODE_ACCOUNTS: only those accounts may ask on behalf of another identity. */
  private async authorizeImpersonation(caller: Caller, requested: string): Promise<void> {
    const { trustedNodeAccounts } = this.d;
    if (trustedNodeAccounts.length === 0) throw new Error('impersonation not allowed, as node authorizer (CA_TRUSTED_NODE_ACCOUNTS) is not configured');
    const k = caller.kubernetes;
    if (!k || !trustedNodeAccounts.some((a) => a.namespace === k.namespace && a.name === k.serviceAccount)) {
      throw new Error(`caller (${caller.identities.join(',')}) is not allowed to impersonate`);
    }
    const id = parseSpiffeIdentity(requested);
    if (!id) throw new Error(`failed to validate impersonated identity ${requested}`);
    if (this.d.authorizeImpersonation) await this.d.authorizeImpersonation(caller, id);
  }
}
