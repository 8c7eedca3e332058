// Sidecar: workload selector, ingress listeners (ports, binds, default endpoints, TLS,
// connection pools), egress listeners (ports, binds, capture modes, namespace/host entries),
// outbound traffic policy.
import type { ObjectMeta } from '../resource.js';
import type * as net from '../schema/networking.js';
import { splitHostPort } from '../schema/formats.js';
import {
  isGoInt, isHTTP, isTLS, parseProtocol, q, UNIX_PREFIX, validateAlphaWorkloadSelector, validateFQDN, validateIPAddress,
  validateNamespaceSlashWildcardHostname, validatePort, validatePortName, validateProtocol, validateUnixAddress,
} from './common.js';
import { validateConnectionPool } from './destinationrule.js';
import { validateServerTLS } from './gateway.js';
import { validateDestination } from './virtualservice.js';
import type { Report } from './report.js';

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', '0.0.0.0', '::1', '::']);

function validatePortAndBind(r: Report, port: net.Port, bind: string): void {
  if (port.name) r.check(validatePortName(port.name), 'port', 'name');
  r.check(validateProtocol(port.protocol), 'port', 'protocol');
  r.check(validatePort(port.number ?? 0), 'port', 'number');
  if (bind) r.check(validateIPAddress(bind), 'bind');
}

function validateEgressPortBindAndCapture(r: Report, port: net.Port, bind: string, captureMode: string | undefined): void {
  if (port.name) r.check(validatePortName(port.name), 'port', 'name');
  if ((port.number ?? 0) === 0) {
    r.check(validateProtocol(port.protocol), 'port', 'protocol');
    if (!bind.startsWith(UNIX_PREFIX)) r.error('sidecar: ports with 0 value must have a unix domain socket bind address', 'bind');
    else r.check(validateUnixAddress(bind.slice(UNIX_PREFIX.length)), 'bind');
    if (captureMode !== undefined && captureMode !== 'DEFAULT' && captureMode !== 'NONE') {
      r.error('sidecar: captureMode must be DEFAULT/NONE for unix domain socket listeners', 'captureMode');
    }
  } else {
    r.check(validateProtocol(port.protocol), 'port', 'protocol');
    r.check(validatePort(port.number ?? 0), 'port', 'number');
    if (bind) r.check(validateIPAddress(bind), 'bind');
  }
}

function validateDefaultEndpoint(r: Report, endpoint: string): void {
  if (endpoint.startsWith(UNIX_PREFIX)) return r.check(validateUnixAddress(endpoint.slice(UNIX_PREFIX.length)));
  // 127.0.0.1:port, [::1]:port or :port
  const split = splitHostPort(endpoint);
  const host = 'error' in split ? '' : split.host;
  const port = 'error' in split ? '' : split.port;
  if ('error' in split) r.error(split.error);
  if (host !== '' && !LOOPBACK_OR_ANY.has(host)) {
    r.error('sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset');
  }
  if (!isGoInt(port)) r.error(`sidecar: defaultEndpoint port (${port}) is not a number: strconv.Atoi: parsing ${q(port)}: invalid syntax`);
  else r.check(validatePort(Number(port)));
}

function validateIngress(r: Report, ingress: NonNullable<net.Sidecar['ingress']>[number], ports: Set<number>): void {
  const port = ingress.port;
  if (!port) return r.error('sidecar: port is required for ingress listeners', 'port');
  if ((port.targetPort ?? 0) > 0) r.error('targetPort has no impact on Sidecars', 'port', 'targetPort');
  validatePortAndBind(r, port, ingress.bind ?? '');
  if (ports.has(port.number ?? 0)) r.error('sidecar: ports on IP bound listeners must be unique', 'port', 'number');
  ports.add(port.number ?? 0);
  if (ingress.defaultEndpoint) validateDefaultEndpoint(r.at('defaultEndpoint'), ingress.defaultEndpoint);
  const tls = ingress.tls;
  if (tls) {
    const t = r.at('tls');
    if (tls.subjectAltNames?.length) t.error('sidecar: subjectAltNames is not supported in ingress tls', 'subjectAltNames');
    if (tls.httpsRedirect) t.error('sidecar: httpsRedirect is not supported', 'httpsRedirect');
    if (tls.credentialName) t.error('sidecar: credentialName is not currently supported', 'credentialName');
    if (tls.credentialNames?.length) t.error('sidecar: credentialNames is not currently supported', 'credentialNames');
    if (tls.tlsCertificates?.length) t.error('sidecar: tls_certificates is not currently supported', 'tlsCertificates');
    if (tls.mode === 'ISTIO_MUTUAL' || tls.mode === 'AUTO_PASSTHROUGH') {
      t.error(`configuration is invalid: cannot set mode to ${tls.mode} in sidecar ingress tls`, 'mode');
    }
    if (!isTLS(parseProtocol(port.protocol))) t.error('server cannot have TLS settings for non HTTPS/TLS ports');
    validateServerTLS(t, tls);
  }
  validateConnectionPool(r.at('connectionPool'), ingress.connectionPool);
  if (ingress.connectionPool?.http && !isHTTP(parseProtocol(port.protocol))) {
    r.warn(
      `sidecar: HTTP connection pool settings are configured for port ${port.number ?? 0} (${q(port.name ?? '')}) but its protocol is not HTTP (${port.protocol ?? ''}); only TCP settings will apply`,
      'connectionPool', 'http',
    );
  }
}

function validateEgressHosts(r: Report, hosts: string[], namespace: string): void {
  const byNamespace = new Map<string, Set<string>>();
  hosts.forEach((hostname, i) => {
    const slash = hostname.indexOf('/');
    if (slash >= 0 && !hostname.startsWith('~')) {
      let ns = hostname.slice(0, slash);
      const svc = hostname.slice(slash + 1);
      if (ns === '.') ns = namespace;
      const svcs = byNamespace.get(ns) ?? new Set<string>();
      byNamespace.set(ns, svcs);
      if (svc !== '*') {
        if (svcs.has(svc) || svcs.has('*')) r.warn(`duplicated egress host: ${hostname}`, i);
      } else if (svcs.size !== 0) {
        r.warn(`duplicated egress host: ${hostname}`, i);
      }
      svcs.add(svc);
    }
    r.check(validateNamespaceSlashWildcardHostname(hostname, false), i);
  });
  if (byNamespace.get('*')?.has('*') && byNamespace.size !== 1) r.warn('`*/*` host select all resources, no other hosts can be added');
}

function validateOutboundTrafficPolicy(r: Report, tp: net.Sidecar['outboundTrafficPolicy']): void {
  if (!tp?.egressProxy) return;
  if ((tp.mode ?? 'REGISTRY_ONLY') !== 'ALLOW_ANY') return r.error('sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode', 'egressProxy');
  r.check(validateFQDN(tp.egressProxy.host ?? ''), 'egressProxy', 'host');
  if (!tp.egressProxy.port) return r.error('sidecar: egress_proxy port must be non-nil', 'egressProxy', 'port');
  validateDestination(r.at('egressProxy'), tp.egressProxy);
}

export function validateSidecar(r: Report, sc: net.Sidecar, meta: ObjectMeta): void {
  const sel = validateAlphaWorkloadSelector(sc.workloadSelector);
  // Istio stops at selector errors.
  if (sel.errors.length) return r.check(sel.errors, 'workloadSelector');
  if (sel.noLabels) r.warn('sidecar: workload selector specified without labels, will be applied to all services in namespace', 'workloadSelector');
  if (!sc.egress?.length && !sc.ingress?.length && !sc.outboundTrafficPolicy && !sc.inboundConnectionPool) {
    return r.error('sidecar: empty configuration provided');
  }
  const ingressPorts = new Set<number>();
  (sc.ingress ?? []).forEach((ing, i) => validateIngress(r.at('ingress', i), ing, ingressPorts));
  validateConnectionPool(r.at('inboundConnectionPool'), sc.inboundConnectionPool);

  const ports = new Set<number>();
  const udsBinds = new Set<string>();
  let catchAllFound = false;
  const egress = sc.egress ?? [];
  egress.forEach((eg, i) => {
    const at = r.at('egress', i);
    if (!eg.port) {
      // Only one listener without a port, and it must be the last.
      if (catchAllFound) {
        at.error('sidecar: egress can have only one listener with empty port');
        return;
      }
      if (i === egress.length - 1) catchAllFound = true;
      else at.error('sidecar: the egress listener with empty port should be the last listener in the list');
    } else {
      if ((eg.port.targetPort ?? 0) > 0) at.error('targetPort has no impact on Sidecars', 'port', 'targetPort');
      const bind = eg.bind ?? '';
      validateEgressPortBindAndCapture(at, eg.port, bind, eg.captureMode);
      if ((eg.port.number ?? 0) === 0) {
        if (udsBinds.has(bind)) at.error('sidecar: unix domain socket values for listeners must be unique', 'bind');
        udsBinds.add(bind);
      } else {
        if (ports.has(eg.port.number!)) at.error('sidecar: ports on IP bound listeners must be unique', 'port', 'number');
        ports.add(eg.port.number!);
      }
    }
    if (!eg.hosts?.length) at.error('sidecar: egress listener must contain at least one host', 'hosts');
    else validateEgressHosts(at.at('hosts'), eg.hosts, meta.namespace);
  });
  validateOutboundTrafficPolicy(r.at('outboundTrafficPolicy'), sc.outboundTrafficPolicy);
}
