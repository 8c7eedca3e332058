// Istio's in-registry address allocation for ServiceEntries without addresses (used when
// PILOT_ENABLE_IP_AUTOALLOCATE is off): every eligible service gets a slot from the hash of
// `namespace/hostname` (FNV-1a, double hashing on collisions) among 256×254 slots, and the slot
// number becomes 240.240.x.y (and 2001:2::f0f0:..). Deterministic, so every istiod agrees.
// Services of the same namespace and host share the address of the lowest slot they hold.
import type { Service } from '../model/service.js';

const MAX_IPS = 256 * 254;
/** The largest prime below MAX_IPS, for the second hash. */
const PRIME = 65011;

function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Resolution NONE keeps the original destination: an invented address would lose it. */
function eligible(svc: Service): boolean {
  return svc.addresses.length === 0 && !svc.hostname.startsWith('*') && svc.resolution !== 'Passthrough';
}

function addressesFor(third: number, fourth: number): string[] {
  const v6 = third === 0 ? fourth.toString(16) : `${third.toString(16)}${fourth.toString(16)}`;
  return [`240.240.${third}.${fourth}`, `2001:2::f0f0:${v6}`];
}

/** Sets `autoAllocatedAddresses` on the eligible services (ServiceEntry services, in registry order). */
export function autoAllocateAddresses(services: readonly Service[]): void {
  const slots: (Service | undefined)[] = new Array(MAX_IPS);
  let allocated = 0;
  for (const svc of services) {
    if (!eligible(svc)) continue;
    if (allocated >= MAX_IPS) break;
    const hash = fnv1a32(`${svc.namespace}/${svc.hostname}`);
    let slot = hash % MAX_IPS;
    if (slots[slot]) {
      // Istio's probe sequence, with its uint32 arithmetic and its modulus (MAX_IPS - 1).
      const step = PRIME - (hash % PRIME);
      for (let i = 1; ; i++) {
        slot = ((hash + Math.imul(i, step)) >>> 0) % (MAX_IPS - 1);
        if (!slots[slot]) break;
      }
    }
    slots[slot] = svc;
    allocated++;
  }

  const byKey = new Map<string, string[]>();
  let x = 0;
  for (const svc of slots) {
    x++;
    if (!svc) continue;
    // x.255 would be a broadcast-like address: Istio skips it (and every later slot shifts by one).
    if (x % 255 === 0) x++;
    const key = `${svc.namespace}/${svc.hostname}`;
    let addresses = byKey.get(key);
    if (!addresses) byKey.set(key, (addresses = addressesFor(Math.floor(x / 255), x % 255)));
    svc.autoAllocatedAddresses = addresses;
  }
}
