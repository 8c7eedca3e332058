// ServiceEntry, WorkloadEntry and WorkloadGroup: hosts, addresses, ports, resolutions and their
// endpoints, exportTo; workload addresses (IP, FQDN, Unix sockets), ports and labels; probes.
import type { ObjectMeta } from '../resource.js';
import type * as net from '../schema/networking.js';
import { isIPAddress } from '../schema/formats.js';
import {
  isHTTP, isTCP, isTLS, parseProtocol, q, UNIX_PREFIX, validateAlphaWorkloadSelector, validateExportTo, validateFQDN,
  validateIPSubnet, validateLabels, validatePartialWildcard, validatePort, validatePortName, validateProtocol,
  validateUnixAddress, validateWildcardDomain,
} from './common.js';
import { validateProbeHeaderName } from './http.js';
import type { Report } from './report.js';

const AUTOALLOCATE_LABEL = 'networking.istio.io/enable-autoallocate-ip';
const USE_WAYPOINT_LABEL = 'istio.io/use-waypoint';

/**
 * A workload's address and ports. `servicePorts` are the port names of the ServiceEntry the
 * workload is an endpoint of (undefined for a WorkloadEntry on its own).
 */
export function validateWorkloadEntry(r: Report, we: net.WorkloadEntry, servicePorts: Set<string> | undefined, allowFQDN: boolean): void {
  const addr = we.address ?? '';
  if (addr === '') {
    if (!we.network) return r.error('address is required', 'address');
    r.warn(`address is unset with network ${q(we.network)}`, 'address');
  }
  const unix = addr.startsWith(UNIX_PREFIX);
  if (unix) {
    r.check(validateUnixAddress(addr.slice(UNIX_PREFIX.length)), 'address');
    if (Object.keys(we.ports ?? {}).length) r.error(`unix endpoint ${addr} must not include ports`, 'ports');
  } else if (addr !== '' && !isIPAddress(addr)) {
    if (!allowFQDN) r.error(`endpoint address ${q(addr)} is not a valid IP address`, 'address');
    else if (validateFQDN(addr)) r.error(`endpoint address ${q(addr)} is not a valid FQDN or an IP address`, 'address');
  }
  for (const name of Object.keys(we.ports ?? {}).sort()) {
    const port = we.ports![name]!;
    if (servicePorts && !servicePorts.has(name)) r.error(`endpoint port ${port} is not defined by the service entry`, 'ports', name);
    r.check(validatePortName(name), 'ports', name);
    r.check(validatePort(port), 'ports', name);
  }
  r.check(validateLabels(we.labels), 'labels');
  if (unix && servicePorts && servicePorts.size !== 1) r.error('exactly 1 service port required for unix endpoints');
}

function shouldAutoAllocateIP(se: net.ServiceEntry, meta: ObjectMeta): boolean {
  if ((se.resolution ?? 'NONE') === 'NONE') return false;
  if ((meta.labels[AUTOALLOCATE_LABEL] ?? '').toLowerCase() === 'false') return false;
  return !se.addresses?.length;
}

function usesWaypoint(meta: ObjectMeta): boolean {
  const v = meta.labels[USE_WAYPOINT_LABEL];
  return v !== undefined && v !== '' && v.toLowerCase() !== 'none';
}

export function validateServiceEntry(r: Report, se: net.ServiceEntry, meta: ObjectMeta): void {
  const sel = validateAlphaWorkloadSelector(se.workloadSelector);
  // Istio stops at selector errors.
  if (sel.errors.length) return r.check(sel.errors, 'workloadSelector');
  if (sel.noLabels) r.warn('service entry: workload selector specified without labels, will be applied to all services in namespace', 'workloadSelector');
  if (se.workloadSelector && se.endpoints?.length) r.error('only one of WorkloadSelector or Endpoints is allowed in Service Entry', 'workloadSelector');

  const resolution = se.resolution ?? 'NONE';
  const hosts = se.hosts ?? [];
  const endpoints = se.endpoints ?? [];
  if (hosts.length === 0) r.error('service entry must have at least one host', 'hosts');
  hosts.forEach((h, i) => {
    if (h === '*') return r.error(`invalid host ${h}`, 'hosts', i);
    r.check(validateWildcardDomain(h), 'hosts', i);
    // Partial wildcards only work with DYNAMIC_DNS.
    if (resolution !== 'DYNAMIC_DNS') r.checkWarn(validatePartialWildcard(h), 'hosts', i);
  });
  let cidr = false;
  (se.addresses ?? []).forEach((a, i) => {
    cidr ||= a.includes('/');
    r.check(validateIPSubnet(a), 'addresses', i);
  });
  if (cidr && resolution !== 'NONE' && resolution !== 'STATIC') r.error('CIDR addresses are allowed only for NONE/STATIC resolution types', 'addresses');

  const autoAllocate = shouldAutoAllocateIP(se, meta);
  const portNumbers = new Set<number>();
  const portNames = new Set<string>();
  (se.ports ?? []).forEach((p, i) => {
    const at = r.at('ports', i);
    const name = p.name ?? '';
    if (portNames.has(name)) at.error(`service entry port name ${q(name)} already defined`, 'name');
    portNames.add(name);
    if (portNumbers.has(p.number ?? 0)) at.error(`service entry port ${p.number ?? 0} already defined`, 'number');
    portNumbers.add(p.number ?? 0);
    if (p.targetPort) at.check(validatePort(p.targetPort), 'targetPort');
    if (!se.addresses?.length && !autoAllocate && (!p.protocol || p.protocol === 'TCP')) {
      at.warn('addresses are required for ports serving TCP (or unset) protocol when IP Autoallocation is not enabled');
    }
    at.check(validatePortName(name), 'name');
    at.check(validateProtocol(p.protocol), 'protocol');
    at.check(validatePort(p.number ?? 0), 'number');
  });

  switch (resolution) {
    case 'NONE':
      if (endpoints.length) r.error('no endpoints should be provided for resolution type none', 'endpoints');
      if (se.workloadSelector) r.warn('workloadSelector should not be set when resolution mode is NONE', 'workloadSelector');
      break;
    case 'STATIC':
      endpoints.forEach((ep, i) => validateWorkloadEntry(r.at('endpoints', i), ep, portNames, false));
      break;
    case 'DNS':
    case 'DNS_ROUND_ROBIN': {
      if (endpoints.length === 0) {
        for (const h of hosts) {
          const err = validateFQDN(h);
          if (err) {
            r.error(`hosts must be FQDN or contain only prefix wildcards if no endpoints are provided for resolution mode ${resolution}, ${err}`, 'hosts');
            break;
          }
        }
      }
      if (resolution === 'DNS_ROUND_ROBIN' && endpoints.length > 1) r.error(`there must only be 0 or 1 endpoint for resolution mode ${resolution}`, 'endpoints');
      endpoints.forEach((ep, i) => {
        const at = r.at('endpoints', i);
        const addr = ep.address ?? '';
        if (!isIPAddress(addr) && validateFQDN(addr)) at.error(`endpoint address ${q(addr)} is not a valid FQDN or an IP address`, 'address');
        at.check(validateLabels(ep.labels), 'labels');
        for (const name of Object.keys(ep.ports ?? {}).sort()) {
          const port = ep.ports![name]!;
          if (!portNames.has(name)) at.error(`endpoint port ${port} is not defined by the service entry`, 'ports', name);
          at.check(validatePortName(name), 'ports', name);
          at.check(validatePort(port), 'ports', name);
        }
      });
      if (se.addresses?.length) {
        for (const p of se.ports ?? []) {
          if (isTCP(parseProtocol(p.protocol))) {
            if (hosts.length > 1) r.warn('service entry can not have more than one host specified simultaneously with address and tcp port');
            break;
          }
        }
      }
      break;
    }
    case 'DYNAMIC_DNS':
      if (hosts.length === 0) r.error(`at least one wildcard host must be provided for resolution type ${resolution}`, 'hosts');
      hosts.forEach((h, i) => {
        if (!h.startsWith('*')) r.error(`host must be wildcarded for resolution mode ${resolution}`, 'hosts', i);
      });
      if (se.addresses?.length) {
        r.error(`addresses cannot be set for resolution type ${resolution}. HTTP route domains will only be generatedfrom the hosts field values`, 'addresses');
      }
      if (endpoints.length) {
        r.error(`endpoints cannot be set for resolution type ${resolution}. Destination IP address determined from hostsfield values`, 'endpoints');
      }
      (se.ports ?? []).forEach((p, i) => {
        const proto = parseProtocol(p.protocol);
        if (!['HTTP', 'TLS', 'GRPC', 'HTTP2'].includes(proto)) {
          r.error(`only HTTP, TLS, GRPC, and HTTP2 protocols are supported for resolution type ${resolution}`, 'ports', i, 'protocol');
        }
      });
      if (se.location === 'MESH_INTERNAL' && usesWaypoint(meta)) {
        r.error(`location MESH_INTERNAL with resolution type ${resolution} is not supported when using waypoints`, 'location');
      }
      break;
  }

  // Plain TCP cannot tell several hosts apart (unless the hosts are ignored, with NONE).
  if (resolution !== 'NONE' && hosts.length > 1) {
    for (const p of se.ports ?? []) {
      const proto = parseProtocol(p.protocol);
      if (!isHTTP(proto) && !isTLS(proto)) {
        r.error('multiple hosts provided with non-HTTP, non-TLS ports', 'ports');
        break;
      }
    }
  }
  r.check(validateExportTo(meta.namespace, se.exportTo, true, false), 'exportTo');
}

export function validateWorkloadEntryKind(r: Report, we: net.WorkloadEntry): void {
  validateWorkloadEntry(r, we, undefined, true);
}

type Probe = NonNullable<net.WorkloadGroup['probe']>;

function validateProbe(r: Report, probe: Probe | undefined): void {
  if (!probe) return;
  for (const f of ['periodSeconds', 'initialDelaySeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold'] as const) {
    if ((probe[f] ?? 0) < 0) r.error(`${f} must be non-negative`, f);
  }
  if (probe.httpGet) {
    const h = probe.httpGet;
    r.check(validatePort(h.port ?? 0), 'httpGet', 'port');
    if (h.scheme && h.scheme !== 'HTTPS' && h.scheme !== 'HTTP') r.error('httpGet.scheme must be one of "HTTPS", "HTTP"', 'httpGet', 'scheme');
    (h.httpHeaders ?? []).forEach((hdr, i) => r.check(validateProbeHeaderName(hdr.name ?? ''), 'httpGet', 'httpHeaders', i, 'name'));
  } else if (probe.tcpSocket) {
    r.check(validatePort(probe.tcpSocket.port ?? 0), 'tcpSocket', 'port');
  } else if (probe.exec) {
    if (!probe.exec.command?.length) r.error('exec.command is required', 'exec', 'command');
  } else if (probe.grpc) {
    r.error('unknown health check method *v1alpha3.ReadinessProbe_Grpc', 'grpc');
  } else {
    r.error('unknown health check method <nil>');
  }
}

export function validateWorkloadGroup(r: Report, wg: net.WorkloadGroup): void {
  if (!wg.template) return r.error('template is required', 'template');
  // The template's address is filled in per workload: it is not a WorkloadEntry on its own.
  if (wg.metadata) {
    const errs = validateLabels(wg.metadata.labels);
    if (errs.length) return r.error(`invalid labels: ${errs.join('; ')}`, 'metadata', 'labels');
  }
  validateProbe(r.at('probe'), wg.probe);
}
