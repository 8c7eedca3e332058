// CA errors with Istio's types (security/pkg/pki/error): each maps to a metric label and a gRPC code.
import { status } from '@grpc/grpc-js';

export type CaErrorType = 'CA_NOT_READY' | 'CSR_ERROR' | 'TTL_ERROR' | 'CERT_GEN_ERROR' | 'UNKNOWN';

export class CaError extends Error {
  override name = 'CaError';
  constructor(readonly type: CaErrorType, message: string) {
    super(message);
  }

  /** gRPC status for the error, as Istio's HTTPErrorCode: bad input is InvalidArgument, the rest Internal. */
  get grpcCode(): status {
    return this.type === 'CSR_ERROR' || this.type === 'TTL_ERROR' ? status.INVALID_ARGUMENT : status.INTERNAL;
  }
}
