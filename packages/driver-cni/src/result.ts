import type { JsonObject } from '@switchyard/core';
import { isJsonObject } from './config.js';

/** What an ADD result says about the interface named `ifname` inside the sandbox. */
export interface AttachmentFacts {
  /** First IPv4 address on the interface, with prefix length. */
  ipv4?: string;
  /** First IPv6 address on the interface, with prefix length. */
  ipv6?: string;
  /** The IPv4 address's gateway, when the result gives one. */
  gateway4?: string;
  /** The IPv6 address's gateway, when the result gives one. */
  gateway6?: string;
  /** The interface's MAC address, when the result lists it. */
  mac?: string;
}

/**
 * Reads a chain's final result: the interface `ifname` in the sandbox (its MAC) and the first address
 * of each family on it, with gateways. Results of 0.3.0 and later list `interfaces` and `ips` (an ip's
 * `interface` indexes the interfaces; without one it counts as ours); 0.1.0/0.2.0 results have `ip4`/`ip6`.
 */
export function attachmentFacts(result: JsonObject, ifname: string): AttachmentFacts {
  const facts: AttachmentFacts = {};
  const interfaces = Array.isArray(result.interfaces) ? result.interfaces : [];
  const ours = interfaces.findIndex((i) => isJsonObject(i) && i.name === ifname && typeof i.sandbox === 'string' && i.sandbox !== '');
  const iface = ours >= 0 ? interfaces[ours] : undefined;
  if (isJsonObject(iface) && typeof iface.mac === 'string' && iface.mac !== '') facts.mac = iface.mac.toLowerCase();
  const take = (address: unknown, gateway: unknown) => {
    if (typeof address !== 'string' || !address.includes('/')) return;
    const v6 = address.includes(':');
    if (v6 ? facts.ipv6 !== undefined : facts.ipv4 !== undefined) return;
    if (v6) facts.ipv6 = address;
    else facts.ipv4 = address;
    if (typeof gateway === 'string' && gateway !== '') {
      if (v6) facts.gateway6 = gateway;
      else facts.gateway4 = gateway;
    }
  };
  if (Array.isArray(result.ips)) {
    for (const ip of result.ips) {
      if (!isJsonObject(ip)) continue;
      const index = typeof ip.interface === 'number' ? ip.interface : undefined;
      if (index !== undefined && index !== ours) continue;
      take(ip.address, ip.gateway);
    }
  }
  for (const key of ['ip4', 'ip6'] as const) {
    const old = result[key];
    if (isJsonObject(old)) take(old.ip, old.gateway);
  }
  return facts;
}
