// Gateway: servers, their ports, binds, hosts and TLS settings (shared with Sidecar ingress TLS).
import type { ObjectMeta } from '../resource.js';
import type * as net from '../schema/networking.js';
import {
  isDNS1123Label, isHTTP, isTLS, parseProtocol, q, UNIX_PREFIX, validateIPAddress, validateNamespaceSlashWildcardHostname,
  validatePort, validateUnixAddress,
} from './common.js';
import type { Report } from './report.js';

const GATEWAY_SEMANTICS = 'internal.istio.io/gateway-semantics';

// Cipher suites Envoy (BoringSSL) accepts in tls.cipherSuites.
const CIPHER_SUITES = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA', 'ECDHE-RSA-AES256-SHA', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'AES256-SHA', 'DES-CBC3-SHA',
]);

function isValidCipherSuite(cs: string): boolean {
  if (cs === '' || cs === 'ALL') return true;
  // Expressions with operators (`-X`, `+X`, `!X`, `[A|B]`) are passed through.
  if (!/^[\p{L}\p{N}]/u.test(cs)) return true;
  return CIPHER_SUITES.has(cs);
}

/** Go's `%v` of a string slice. */
const goList = (xs: string[]) => `[${xs.join(' ')}]`;

/** Server TLS settings of Gateways and Sidecar ingress listeners. */
export function validateServerTLS(r: Report, tls: net.ServerTLSSettings | undefined): void {
  if (!tls) return;
  if ((tls.minProtocolVersion === 'TLSV1_0' || tls.minProtocolVersion === 'TLSV1_1') && !tls.cipherSuites?.length) {
    r.warn('TLS version below TLSV1_2 require setting compatible ciphers as by default they no longer include compatible ciphers.');
  }
  const invalid = new Set<string>();
  const valid = new Set<string>();
  const duplicate = new Set<string>();
  for (const cs of tls.cipherSuites ?? []) {
    if (!isValidCipherSuite(cs)) invalid.add(cs);
    else if (valid.has(cs)) duplicate.add(cs);
    else valid.add(cs);
  }
  if (invalid.size) r.warn(`ignoring invalid cipher suites: ${goList([...invalid].sort())}`, 'cipherSuites');
  if (duplicate.size) r.warn(`ignoring duplicate cipher suites: ${goList([...duplicate].sort())}`, 'cipherSuites');

  const mode = tls.mode ?? 'PASSTHROUGH';
  if (mode === 'ISTIO_MUTUAL') {
    // Certificates come from the workload's own identity.
    if (tls.serverCertificate) r.error('ISTIO_MUTUAL TLS cannot have associated server certificate', 'serverCertificate');
    if (tls.privateKey) r.error('ISTIO_MUTUAL TLS cannot have associated private key', 'privateKey');
    if (tls.caCertificates) r.error('ISTIO_MUTUAL TLS cannot have associated CA bundle', 'caCertificates');
    if (tls.tlsCertificates?.length) r.error('ISTIO_MUTUAL TLS cannot have associated tlsCertificates', 'tlsCertificates');
    if (tls.credentialName) r.error('ISTIO_MUTUAL TLS cannot have associated credentialName', 'credentialName');
    if (tls.credentialNames?.length) r.error('ISTIO_MUTUAL TLS cannot have associated credentialNames', 'credentialNames');
    return;
  }
  if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') {
    if (tls.caCrl || tls.serverCertificate || tls.privateKey || tls.caCertificates || tls.tlsCertificates?.length || tls.credentialName || tls.credentialNames?.length) {
      r.warn(`${mode} mode does not use certificates, they will be ignored`);
    }
  }
  let sources = 0;
  if (tls.serverCertificate && tls.privateKey) sources++;
  if (tls.credentialName) sources++;
  if (tls.credentialNames?.length) sources++;
  if (tls.tlsCertificates?.length) sources++;
  if (sources > 1) r.error('only one of credential_name, credential_names, server_certificate/private_key, tls_certificates should be specified');

  const terminating = mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL';
  // With a credential name, certificates come from a secret.
  if (terminating && (tls.credentialName || tls.credentialNames?.length)) return;
  const certs = tls.tlsCertificates?.length ? tls.tlsCertificates : [{ serverCertificate: tls.serverCertificate, privateKey: tls.privateKey }];
  if (terminating) {
    let prefix = 'SIMPLE TLS';
    if (mode !== 'SIMPLE') {
      prefix = 'MUTUAL TLS';
      if (!tls.caCertificates) r.error(`${prefix} requires a client CA bundle`, 'caCertificates');
    }
    if ((tls.tlsCertificates?.length ?? 0) > 2) r.warn(`${prefix} can support up to 2 server certificates`, 'tlsCertificates');
    for (const cert of certs) {
      if (!cert.serverCertificate) r.error(`${prefix} requires a server certificate`, 'serverCertificate');
      if (!cert.privateKey) r.error(`${prefix} requires a private key`, 'privateKey');
    }
  }
  if (tls.caCrl) {
    if (tls.credentialName) r.error('CRL is not supported with credentialName. CRL has to be specified in the credential', 'caCrl');
    if (mode === 'SIMPLE') r.error('CRL is not supported with SIMPLE TLS', 'caCrl');
  }
}

const portText = (p: net.Port) =>
  `number:${p.number ?? 0} protocol:${q(p.protocol ?? '')} name:${q(p.name ?? '')}${p.targetPort ? ` target_port:${p.targetPort}` : ''}`;

/** Returns whether the port is valid (TLS requirements are only checked then). */
function validateServerPort(r: Report, port: net.Port | undefined, bind: string): boolean {
  if (!port) {
    r.error('port is required');
    return false;
  }
  const before = r.issues.length;
  if (parseProtocol(port.protocol) === 'Unsupported') {
    r.error(`invalid protocol ${q(port.protocol ?? '')}, supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP`, 'protocol');
  }
  if ((port.number ?? 0) > 0 || !bind.startsWith(UNIX_PREFIX)) r.check(validatePort(port.number ?? 0), 'number');
  if ((port.targetPort ?? 0) > 0) r.error('targetPort has no impact on Gateways', 'targetPort');
  if (!port.name) r.error(`port name must be set: ${portText(port)}`, 'name');
  return r.issues.length === before;
}

function validateServer(r: Report, server: net.Server, gatewaySemantics: boolean): void {
  if (!server.hosts?.length) r.error('server config must contain at least one host', 'hosts');
  else server.hosts.forEach((h, i) => r.check(validateNamespaceSlashWildcardHostname(h, true, gatewaySemantics), 'hosts', i));
  const bind = server.bind ?? '';
  const portOk = validateServerPort(r.at('port'), server.port, bind);
  if (bind.startsWith(UNIX_PREFIX)) {
    r.check(validateUnixAddress(bind.slice(UNIX_PREFIX.length)), 'bind');
    if (server.port && (server.port.number ?? 0) !== 0) r.error(`port number must be 0 for unix domain socket: ${portText(server.port)}`, 'port', 'number');
  } else if (bind) {
    r.check(validateIPAddress(bind), 'bind');
  }
  validateServerTLS(r.at('tls'), server.tls);
  if (portOk) {
    const p = parseProtocol(server.port!.protocol);
    if (isTLS(p) && !server.tls) r.error('server must have TLS settings for HTTPS/TLS protocols', 'tls');
    else if (!isTLS(p) && server.tls) {
      if (isHTTP(p)) {
        // Plain HTTP servers may only carry httpsRedirect.
        const passthrough = server.tls.mode === undefined || server.tls.mode === 'PASSTHROUGH' || server.tls.mode === 'AUTO_PASSTHROUGH';
        if (!passthrough || server.tls.caCertificates || server.tls.privateKey || server.tls.serverCertificate) {
          r.error('server cannot have TLS settings for plain text HTTP ports', 'tls');
        }
      } else {
        r.error('server cannot have TLS settings for non HTTPS/TLS ports', 'tls');
      }
    }
  }
}

export function validateGateway(r: Report, gw: net.Gateway, meta: ObjectMeta): void {
  const gatewaySemantics = meta.annotations[GATEWAY_SEMANTICS] === 'gateway';
  if (!isDNS1123Label(meta.name) && !gatewaySemantics) r.error(`invalid gateway name: ${q(meta.name)}`);
  if (!gw.servers?.length) r.error('gateway must have at least one server', 'servers');
  (gw.servers ?? []).forEach((srv, i) => validateServer(r.at('servers', i), srv, gatewaySemantics));
  const names = new Set<string>();
  (gw.servers ?? []).forEach((srv, i) => {
    if (!srv.port) return;
    const name = srv.port.name ?? '';
    if (names.has(name)) r.error(`port names in servers must be unique: duplicate name ${name}`, 'servers', i, 'port', 'name');
    names.add(name);
    if (!isHTTP(parseProtocol(srv.port.protocol)) && srv.tls?.httpsRedirect) {
      r.warn('tls.httpsRedirect should only be used with http servers', 'servers', i, 'tls', 'httpsRedirect');
    }
  });
}
