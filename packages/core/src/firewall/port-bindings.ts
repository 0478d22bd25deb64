import { quoteValue } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { parseCidr, parseIpAddress } from '../kernel/names.js';
import type { NamedPort, PortBinding, SandboxRecord } from '../model/types.js';

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
      ...(typeof binding.name === 'string' ? { name: binding.name } : {}),
    };
  });
}

const PORT_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NAMED_HINT = 'Declare each as { name: lowercase letters, digits and dashes (e.g. "http"), port: 1-65535, protocol: "tcp" | "udp" | "sctp" } (CLI: --expose http=80/tcp), each name once.';

/** Checks a sandbox's named port declarations (rkt's image manifest ports); returns them canonical. */
export function normalizeNamedPorts(ports: unknown): NamedPort[] {
  const bad = (message: string): never => {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', message, { hint: NAMED_HINT, details: { ports: quoteValue(ports) } });
  };
  if (!Array.isArray(ports)) return bad(`Named ports must be a list, not ${quoteValue(ports)}`);
  const seen = new Set<string>();
  return ports.map((p: unknown, i): NamedPort => {
    const decl = (typeof p === 'object' && p !== null ? p : {}) as Partial<Record<keyof NamedPort, unknown>>;
    if (typeof decl.name !== 'string' || !PORT_NAME.test(decl.name)) bad(`Named port ${i + 1} has name ${quoteValue(decl.name)}, not lowercase letters, digits and dashes`);
    if (seen.has(decl.name as string)) bad(`The port name ${quoteValue(decl.name)} is declared twice`);
    seen.add(decl.name as string);
    if (typeof decl.port !== 'number' || !Number.isInteger(decl.port) || decl.port < 1 || decl.port > 65535) bad(`Named port ${quoteValue(decl.name)} has port ${quoteValue(decl.port)}, not 1-65535`);
    const protocol = decl.protocol ?? 'tcp';
    if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol)) bad(`Named port ${quoteValue(decl.name)} has protocol ${quoteValue(protocol)}, not tcp, udp or sctp`);
    return { name: decl.name as string, port: decl.port as number, protocol: protocol as NamedPort['protocol'] };
  });
}

/**
 * Turns bindings that name a port (`{ name, hostPort }`) into bindings of the sandbox's declared port
 * and protocol, keeping the name; numbered bindings pass through. An undeclared name is refused.
 */
export function resolveNamedPorts(bindings: unknown, sandbox: Pick<SandboxRecord, 'name' | 'ports'>): unknown {
  if (!Array.isArray(bindings)) return bindings;
  return bindings.map((b: unknown) => {
    if (typeof b !== 'object' || b === null || !('name' in b) || (b as { name?: unknown }).name === undefined) return b;
    const { name, ...rest } = b as Record<string, unknown>;
    const decl = sandbox.ports?.find((p) => p.name === name);
    if (!decl) {
      const declared = (sandbox.ports ?? []).map((p) => p.name);
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Sandbox "${sandbox.name}" declares no port named ${quoteValue(name)}`, {
        hint:
          declared.length > 0 ? `Its named ports: ${declared.join(', ')}. Or publish by number (-p HOST_PORT:PORT).` : 'Declare it when creating the sandbox (--expose NAME=PORT[/PROTO]), or publish by number (-p HOST_PORT:PORT).',
      });
    }
    return { ...rest, protocol: decl.protocol, containerPort: decl.port, name: decl.name };
  });
}
