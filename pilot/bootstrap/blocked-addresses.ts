// Addresses a fetch on behalf of config (JWKS URIs) must never reach: link-local ones (where
// cloud metadata services live), well-known metadata addresses, and operator-given ranges. An
// IPv4 address written in IPv6 form (`::ffff:169.254.169.254`) is the IPv4 address it carries.
import { isIP } from 'node:net';

export interface IpRange {
  v6: boolean;
  base: bigint;
  bits: number;
}

interface IpValue {
  v6: boolean;
  value: bigint;
}

const MAPPED_PREFIX = 0xffffn << 32n;

function ipv4Value(ip: string): bigint {
  return ip.split('.').reduce((a, p) => (a << 8n) + BigInt(Number(p)), 0n);
}

/** The address as a number, IPv4-mapped IPv6 addresses unwrapped; undefined when not an address. */
function ipValue(text: string): IpValue | undefined {
  const ip = text.replace(/%.*$/, '');
  const family = isIP(ip);
  if (family === 4) return { v6: false, value: ipv4Value(ip) };
  if (family !== 6) return undefined;
  // A dotted tail is the last two groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  let groupsText = ip;
  if (dotted) {
    const v4 = ipv4Value(dotted[2]!);
    groupsText = `${dotted[1]}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = groupsText.split('::');
  const parts = (s: string | undefined) => (s ? s.split(':') : []);
  const h = parts(head);
  const t = parts(tail);
  const groups = tail !== undefined ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const value = groups.reduce((a, g) => (a << 16n) + BigInt(parseInt(g, 16)), 0n);
  if (value >> 32n === MAPPED_PREFIX >> 32n) return { v6: false, value: value & 0xffffffffn };
  return { v6: true, value };
}

/** `ADDRESS/BITS`, as Go's net.ParseCIDR takes it; undefined for anything else. */
export function parseCidr(text: string): IpRange | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = ipValue(m[1]!);
  const family = isIP(m[1]!);
  if (!ip || !family) return undefined;
  const bits = Number(m[2]);
  const max = family === 6 ? 128 : 32;
  if (bits > max) return undefined;
  // A mapped IPv4 range is an IPv4 range.
  const v4FromMapped = family === 6 && !ip.v6;
  if (v4FromMapped && bits < 96) return undefined;
  return { v6: ip.v6, base: ip.value, bits: v4FromMapped ? bits - 96 : bits };
}

function inRange(ip: IpValue, r: IpRange): boolean {
  if (ip.v6 !== r.v6) return false;
  const shift = BigInt((r.v6 ? 128 : 32) - r.bits);
  return ip.value >> shift === r.base >> shift;
}

const LINK_LOCAL = ['169.254.0.0/16', 'fe80::/10'].map((c) => parseCidr(c)!);
const CLOUD_METADATA = ['100.100.100.200/32', 'fd00:ec2::/32'].map((c) => parseCidr(c)!);

/** Why `ip` must not be connected to, or undefined when it may. */
export function blockedReason(ip: string, extra: readonly IpRange[]): string | undefined {
  const v = ipValue(ip);
  if (!v) return `${ip} is not an IP address`;
  if (LINK_LOCAL.some((r) => inRange(v, r))) return `${ip} is link-local`;
  if (CLOUD_METADATA.some((r) => inRange(v, r))) return `${ip} is a known cloud metadata address`;
  if (extra.some((r) => inRange(v, r))) return `${ip} is in a blocked CIDR range`;
  return undefined;
}
