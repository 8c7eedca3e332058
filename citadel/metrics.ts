// Citadel's Prometheus metrics, with Istio's names (security/pkg/server/ca/monitoring.go). Istio
// exports counters without a `_total` suffix, and so do these. Registered on the caller's registry.
import { Counter, Gauge, type Registry } from 'prom-client';

export class CitadelMetrics {
  readonly csr: Counter;
  readonly authnError: Counter;
  readonly csrParsingError: Counter;
  readonly idExtractionError: Counter;
  readonly success: Counter;
  private readonly signError: Counter<'error'>;
  /** The same counts under the name issue 5 uses (`..._sign_error_count`); Istio's own name is `..._sign_err_count`. */
  private readonly signErrorAlias: Counter<'error'>;
  private readonly rootExpiry: Gauge;
  private chainExpiry: Gauge | undefined;
  private rootNotAfter: Date | undefined;
  private chainNotAfter: Date | undefined;

  constructor(registry: Registry) {
    const registers = [registry];
    this.csr = new Counter({ name: 'citadel_server_csr_count', help: 'The number of CSRs received by Citadel server.', registers });
    this.authnError = new Counter({ name: 'citadel_server_authentication_failure_count', help: 'The number of authentication failures.', registers });
    this.csrParsingError = new Counter({ name: 'citadel_server_csr_parsing_err_count', help: 'The number of errors occurred when parsing the CSR.', registers });
    this.idExtractionError = new Counter({ name: 'citadel_server_id_extraction_err_count', help: 'The number of errors occurred when extracting the ID from CSR.', registers });
    this.signError = new Counter({ name: 'citadel_server_csr_sign_err_count', help: 'The number of errors occurred when signing the CSR.', labelNames: ['error'], registers });
    this.signErrorAlias = new Counter({ name: 'citadel_server_csr_sign_error_count', help: 'The number of errors occurred when signing the CSR (alias of citadel_server_csr_sign_err_count).', labelNames: ['error'], registers });
    this.success = new Counter({ name: 'citadel_server_success_cert_issuance_count', help: 'The number of certificates issuances that have succeeded.', registers });
    this.rootExpiry = new Gauge({ name: 'citadel_server_root_cert_expiry_timestamp', help: 'The unix timestamp, in seconds, when the root cert will expire.', registers });
    const self = this;
    new Gauge({
      name: 'citadel_server_root_cert_expiry_seconds',
      help: 'The time remaining, in seconds, before the root cert will expire. A negative value indicates the cert is expired.',
      registers,
      collect() {
        if (self.rootNotAfter) this.set((self.rootNotAfter.getTime() - Date.now()) / 1000);
      },
    });
    this.registry = registry;
  }

  private readonly registry: Registry;

  // The CA-chain gauges exist only when there is a chain (plug-in CA), as in Istio where they are never recorded otherwise.
  private registerChainGauges(): Gauge {
    const registers = [this.registry];
    const self = this;
    new Gauge({
      name: 'citadel_server_cert_chain_expiry_seconds',
      help: 'The time remaining, in seconds, before the Istio Generated cert chain will expire. A negative value indicates the cert is expired.',
      registers,
      collect() {
        if (self.chainNotAfter) this.set((self.chainNotAfter.getTime() - Date.now()) / 1000);
      },
    });
    return new Gauge({ name: 'citadel_server_cert_chain_expiry_timestamp', help: 'The unix timestamp, in seconds, when Istio generated cert chain will expire.', registers });
  }

  signErrorInc(errorType: string): void {
    this.signError.inc({ error: errorType });
    this.signErrorAlias.inc({ error: errorType });
  }

  /** Istio's RecordCertsExpiry: expiry of the first root, and of the first certificate of the CA chain if any. */
  recordCertsExpiry(rootNotAfter: Date | undefined, chainNotAfter: Date | undefined): void {
    this.rootNotAfter = rootNotAfter;
    if (rootNotAfter) this.rootExpiry.set(Math.floor(rootNotAfter.getTime() / 1000));
    this.chainNotAfter = chainNotAfter;
    if (chainNotAfter) {
      this.chainExpiry ??= this.registerChainGauges();
      this.chainExpiry.set(Math.floor(chainNotAfter.getTime() / 1000));
    }
  }
}
