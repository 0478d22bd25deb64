import { readFileSync } from 'node:fs';
import { SwitchyardError, familyOf, resolvConfNameservers } from '@switchyard/core';
import { hostPort } from './addresses.js';

/** An upstream name server. */
export interface Upstream {
  /** Its address. */
  address: string;
  /** Its port (53 unless given). */
  port: number;
  /** 4 or 6. */
  family: 4 | 6;
}

/** Parses `ip`, `ip:port`, an IPv6 address, or `[v6]:port`; throws SWY_ERR_INVALID_OPTION otherwise. */
export function parseUpstream(text: string): Upstream {
  const value = text.trim();
  let address = value;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  const v4WithPort = /^([0-9.]+):(\d+)$/.exec(value);
  if (bracketed) {
    address = bracketed[1] ?? '';
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (v4WithPort) {
    address = v4WithPort[1] ?? '';
    port = Number(v4WithPort[2]);
  }
  const family = familyOf(address);
  if (family === undefined || address.includes('/') || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `${JSON.stringify(text)} is not an upstream name server (ip, ip:port or [ipv6]:port)`, {
      hint: 'Write it like 1.1.1.1, 10.0.0.1:5353, fd00::53 or [fd00::53]:5353.',
      details: { upstream: text },
    });
  }
  return { address, port, family };
}

/** `ip:port` (`[ip]:port` for IPv6). */
export function formatUpstream(upstream: Upstream): string {
  return hostPort(upstream.address, upstream.port);
}

/** The `nameserver` addresses of a resolv.conf text (loopback ones included), in order; zone ids dropped. */
export function nameserversOf(resolvConf: string): string[] {
  return resolvConfNameservers(resolvConf)
    .map((address) => address.replace(/%.*$/, ''))
    .filter((address) => familyOf(address) !== undefined);
}

/** The host's name servers, from /etc/resolv.conf (none when it cannot be read). */
export function hostNameservers(path = '/etc/resolv.conf'): string[] {
  try {
    return nameserversOf(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** The upstreams to use: those given, else the host's name servers, minus any the responder itself listens on (`ip:port`). */
export function effectiveUpstreams(given: readonly string[] | undefined, listening: ReadonlySet<string>, host: () => string[] = hostNameservers): Upstream[] {
  const list = given !== undefined && given.length > 0 ? given : host();
  const out: Upstream[] = [];
  for (const text of list) {
    const u = parseUpstream(text);
    if (!listening.has(formatUpstream(u)) && !out.some((o) => formatUpstream(o) === formatUpstream(u))) out.push(u);
  }
  return out;
}
