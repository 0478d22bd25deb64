import { quoteValue } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { parseCidr, parseIpAddress } from '../kernel/names.js';
import type { PortBinding } from '../model/types.js';

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];
const HINT = 'Give each binding { protocol: "tcp" | "udp" | "sctp", containerPort: 1-65535, hostPort: 1-65535 or 0 for a free one, hostIp?: an IP address, allowFrom?: a subnet }.';

function refuse(message: string, value: unknown): never {
  throw new SwitchyardError('SWY_ERR_INVALID_OPTION', message, { hint: HINT, details: { binding: quoteValue(value) } });
}

/** Checks port bindings before they reach a firewall (nftables rules): a known protocol, ports 1-65535 (host port 0 = pick one), a host IP that is an address, a client subnet that is a CIDR of the same family. Returns them canonical. */
export function normalizePortBindings(bindings: unknown): PortBinding[] {
  if (!Array.isArray(bindings)) return refuse(`Port bindings must be a list, not ${quoteValue(bindings)}`, bindings);
  return bindings.map((b: unknown, i): PortBinding => {
    const binding = (typeof b === 'object' && b !== null ? b : {}) as Partial<Record<keyof PortBinding, unknown>>;
    if (typeof binding.protocol !== 'string' || !PROTOCOLS.includes(binding.protocol)) refuse(`Port binding ${i + 1} has protocol ${quoteValue(binding.protocol)}, not tcp, udp or sctp`, b);
    for (const key of ['containerPort', 'hostPort'] as const) {
      const port = binding[key];
      const lowest = key === 'hostPort' ? 0 : 1;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < lowest || port > 65535) refuse(`Port binding ${i + 1} has ${key} ${quoteValue(port)}, not a port from ${lowest} to 65535`, b);
    }
    const host = binding.hostIp === undefined ? undefined : parseIpAddress(binding.hostIp, `host IP of port binding ${i + 1}`);
    const from = binding.allowFrom === undefined ? undefined : parseCidr(binding.allowFrom, `client subnet (allowFrom) of port binding ${i + 1}`);
    if (host && from && host.family !== from.family) refuse(`Port binding ${i + 1} publishes on IPv${host.family} address ${host.address} but allows IPv${from.family} clients (${from.cidr})`, b);
    return {
      protocol: binding.protocol as PortBinding['protocol'],
      containerPort: binding.containerPort as number,
      hostPort: binding.hostPort as number,
      ...(host === undefined ? {} : { hostIp: host.address }),
      ...(from === undefined ? {} : { allowFrom: `${from.network}/${from.prefix}` }),
    };
  });
}
