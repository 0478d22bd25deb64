import { parseIpAddress, SwitchyardError, parseCidr, type NamedPort, type NamedPortBinding, type PortBinding } from '@switchyard/core';
import { usageError } from './flags.js';

const HINT =
  'Write it as Docker does: -p [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp], e.g. -p 8080:80, -p 127.0.0.1:5353:53/udp, -p [::1]:8443:443, -p 8000-8001:80-81, or -p 80 for a free host port; or as rkt does for a port the sandbox declared by name: -p http:8080, -p http:127.0.0.1:8080.';

interface Range {
  first: number;
  count: number;
}

function parseRange(flag: string, spec: string, text: string, what: string): Range {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const first = m ? Number(m[1]) : NaN;
  const last = m?.[2] !== undefined ? Number(m[2]) : first;
  if (!m || first < 1 || last > 65535 || last < first) throw usageError(`${flag} ${JSON.stringify(spec)}: ${what} ${JSON.stringify(text)} is not a port (1-65535) or a range FIRST-LAST`, HINT);
  return { first, count: last - first + 1 };
}

/**
 * One `-p/--port` value in Docker's syntax, expanded to one binding per port (ranges pair up port by
 * port). A missing host port is 0: core picks a free one from the host port range.
 */
export function parsePortSpec(spec: string, allowFrom?: string, flag = '--port'): Array<PortBinding | NamedPortBinding> {
  if (/^[a-z]/.test(spec)) return [parseNamedSpec(spec, allowFrom, flag)];
  const slash = spec.lastIndexOf('/');
  const protocol = slash < 0 ? 'tcp' : spec.slice(slash + 1);
  if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') throw usageError(`${flag} ${JSON.stringify(spec)}: protocol ${JSON.stringify(protocol)} is not tcp, udp or sctp`, HINT);
  let rest = slash < 0 ? spec : spec.slice(0, slash);
  let hostIp: string | undefined;
  // An IPv6 host address goes in brackets: [::1]:8080:80.
  const bracket = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (bracket) {
    hostIp = bracket[1] ?? '';
    rest = bracket[2] ?? '';
  }
  const parts = rest.split(':');
  if (!bracket && parts.length === 3) hostIp = parts.shift();
  if (parts.length > 2 || (bracket && parts.length !== 2)) throw usageError(`${flag} ${JSON.stringify(spec)} is not a port mapping`, HINT);
  const [hostText, containerText] = parts.length === 2 ? parts : [undefined, parts[0]];
  hostIp = hostAddress(flag, spec, hostIp, allowFrom);
  const container = parseRange(flag, spec, containerText ?? '', 'container port');
  const host = hostText === undefined || hostText === '' ? undefined : parseRange(flag, spec, hostText, 'host port');
  if (host && host.count !== container.count) {
    throw usageError(
      `${flag} ${JSON.stringify(spec)}: the host range has ${host.count} ports and the container range ${container.count}`,
      'Give ranges of the same length (8000-8001:80-81), or leave the host port out to get free ones.',
    );
  }
  return Array.from({ length: container.count }, (_, i) => ({
    protocol,
    containerPort: container.first + i,
    hostPort: host ? host.first + i : 0,
    ...(hostIp !== undefined ? { hostIp } : {}),
    ...(allowFrom !== undefined ? { allowFrom } : {}),
  }));
}

function hostAddress(flag: string, spec: string, hostIp: string | undefined, allowFrom: string | undefined): string | undefined {
  if (hostIp === undefined) return undefined;
  let address: string;
  try {
    address = parseIpAddress(hostIp, `host address of ${flag}`).address;
  } catch {
    throw usageError(`${flag} ${JSON.stringify(spec)}: ${JSON.stringify(hostIp)} is not an IP address`, HINT);
  }
  if (allowFrom !== undefined && parseCidr(allowFrom).family !== (address.includes(':') ? 6 : 4)) {
    throw usageError(`${flag} ${JSON.stringify(spec)} publishes on ${address}, but --allow-from ${allowFrom} is of the other IP family`, 'Give --allow-from a subnet of the host address\u2019s family.');
  }
  return address;
}

/**
 * rkt's form for a port the sandbox declared by name: NAME[:[HOST_IP:]HOST_PORT] (no host port = a free
 * one). The protocol and container port are the declaration's, so no /proto is taken.
 */
function parseNamedSpec(spec: string, allowFrom: string | undefined, flag: string): NamedPortBinding {
  const m = /^([a-z][a-z0-9-]*)(?::(?:\[([^\]]*)\]:|([^:[\]]+):)?(\d{1,5}))?$/.exec(spec);
  if (!m || m[1]?.endsWith('-')) throw usageError(`${flag} ${JSON.stringify(spec)} is not a port mapping`, HINT);
  const hostPort = m[4] === undefined ? 0 : Number(m[4]);
  if (hostPort > 65535 || (m[4] !== undefined && hostPort < 1)) throw usageError(`${flag} ${JSON.stringify(spec)}: host port ${m[4]} is not a port (1-65535)`, HINT);
  const hostIp = hostAddress(flag, spec, m[2] ?? m[3], allowFrom);
  return { name: m[1] as string, hostPort, ...(hostIp !== undefined ? { hostIp } : {}), ...(allowFrom !== undefined ? { allowFrom } : {}) };
}

/** Every `-p` of one command, and `--allow-from` (a client subnet) applied to each. */
export function parsePortFlags(values: readonly string[], allowFrom?: string): Array<PortBinding | NamedPortBinding> {
  let from: string | undefined;
  if (allowFrom !== undefined) {
    try {
      const c = parseCidr(allowFrom, 'client subnet (--allow-from)');
      from = `${c.network}/${c.prefix}`;
    } catch (error) {
      throw error instanceof SwitchyardError ? usageError(error.message, 'Write it like --allow-from 192.168.0.0/16.') : error;
    }
    if (values.length === 0) throw usageError('--allow-from limits published ports, and no --port is given', 'Add -p/--port, or leave --allow-from out.');
  }
  return values.flatMap((v) => parsePortSpec(v, from));
}

/**
 * `--expose NAME=PORT[/PROTO]`: a port the sandbox declares by name (rkt's image manifest ports), for
 * `-p NAME:HOST_PORT`. Protocol tcp unless given.
 */
export function parseExposeFlags(values: readonly string[]): NamedPort[] {
  return values.map((v) => {
    const m = /^([a-z][a-z0-9-]*)=(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(v);
    const port = Number(m?.[2]);
    if (!m || m[1]?.endsWith('-') || (m[1]?.length ?? 0) > 63 || port < 1 || port > 65535) {
      throw usageError(`--expose ${JSON.stringify(v)} is not a named port`, 'Write it as NAME=PORT[/tcp|udp|sctp], e.g. --expose http=80 or --expose dns=53/udp; a name is lowercase letters, digits and dashes.');
    }
    return { name: m[1] as string, port, protocol: (m[3] ?? 'tcp') as NamedPort['protocol'] };
  });
}
