import type { EndpointRecord, NetnsRef, NetworkRecord, PoolAssignment, SandboxRecord } from '@switchyard/core';
import { formatPairs, formatTable } from './table.js';

/** How a sandbox's namespace is shown: the path a user can pass to nsenter. */
export function netnsText(ns: NetnsRef): string {
  if (ns.kind === 'host') return 'host';
  if (ns.kind === 'named') return `/run/netns/${ns.name}`;
  return ns.path;
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

function poolText(p: PoolAssignment | undefined): string {
  return p ? p.subnet : '-';
}

function optionsText(o: Record<string, unknown>): string {
  const parts = Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length > 0 ? parts.join(' ') : '-';
}

function labelsText(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}=${v}`);
  return parts.length > 0 ? parts.join(' ') : '-';
}

/** `network ls`: one row per network, with how many sandboxes use it. */
export function networksTable(networks: readonly NetworkRecord[], sandboxes: readonly SandboxRecord[], stale: Readonly<Record<string, string>> = {}): string {
  const users = (n: NetworkRecord) => sandboxes.filter((s) => s.endpoints.some((e) => e.networkId === n.id)).length;
  return (
    formatTable(
      ['NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'IPV6 SUBNET', 'SANDBOXES', 'STATUS', 'ID'],
      networks.map((n) => [n.name, n.driver, poolText(n.ipv4), n.ipv4?.gateway ?? '-', poolText(n.ipv6), String(users(n)), statusText(stale[n.name]), shortId(n.id)]),
    ) + staleFootnote(stale)
  );
}

function statusText(reason: string | undefined): string {
  return reason === undefined ? 'ok' : 'stale';
}

function staleFootnote(stale: Readonly<Record<string, string>>): string {
  const entries = Object.entries(stale);
  if (entries.length === 0) return '';
  return entries.map(([name, reason]) => `stale: ${name}: ${reason}\n`).join('') + 'Run `switchyard gc` to repair or remove what is stale.\n';
}

/** A record for --json output, with `stale: <reason>` when it is stale. */
export function withStale<T extends object>(record: T, reason: string | undefined): T & { stale?: string } {
  return reason === undefined ? record : { ...record, stale: reason };
}

/** The `status` line of `inspect`. */
function statusPair(reason: string | undefined): [string, string] {
  return ['status', reason === undefined ? 'ok' : `stale: ${reason} (\`switchyard gc\` repairs it)`];
}

/** `network inspect`: the record, then the sandboxes connected to it. */
export function networkDetails(n: NetworkRecord, sandboxes: readonly SandboxRecord[], stale?: string): string {
  const pairs: Array<[string, string]> = [
    ['id', n.id],
    statusPair(stale),
    ['driver', n.driver],
    ['ipam', n.ipamDriver],
    ['ipv4', n.ipv4 ? `${n.ipv4.subnet}${n.ipv4.gateway ? ` (gateway ${n.ipv4.gateway})` : ''}` : '-'],
    ['ipv6', n.ipv6 ? `${n.ipv6.subnet}${n.ipv6.gateway ? ` (gateway ${n.ipv6.gateway})` : ''}` : '-'],
    ...(n.ipv4?.auxAddresses || n.ipv6?.auxAddresses ? [['aux addresses', labelsText({ ...n.ipv4?.auxAddresses, ...n.ipv6?.auxAddresses })] as [string, string]] : []),
    ['internal', n.internal ? 'yes' : 'no'],
    ['masquerade', n.firewall?.masquerade === true && !n.internal ? 'yes (egress takes the host address)' : 'no'],
    ['options', optionsText(n.options)],
    ['labels', labelsText(n.labels)],
    ['created', n.createdAt],
  ];
  for (const note of n.notes) pairs.push(['note', note]);
  let out = `Network ${n.name}\n` + formatPairs(pairs);
  const rows = sandboxes.flatMap((s) => s.endpoints.filter((e) => e.networkId === n.id).map((e) => [s.name, e.ifname, e.ipv4 ?? '-', e.ipv6 ?? '-', e.mac ?? '-']));
  out += rows.length > 0 ? '\nConnected sandboxes\n' + formatTable(['SANDBOX', 'IFACE', 'IPV4', 'IPV6', 'MAC'], rows, '  ') : '\nNo sandboxes connected.\n';
  return out;
}

function endpointText(e: EndpointRecord): string {
  return `${e.ifname} ${[e.ipv4, e.ipv6].filter(Boolean).join(' ') || '(no address)'} (${e.networkName})`;
}

/** `sandbox ls`: one row per sandbox, its interfaces and addresses in one column. */
export function sandboxesTable(sandboxes: readonly SandboxRecord[], stale: Readonly<Record<string, string>> = {}): string {
  return (
    formatTable(
      ['NAME', 'MODE', 'NETNS', 'INTERFACES', 'STATUS', 'ID'],
      sandboxes.map((s) => [s.name, s.mode, netnsText(s.netns), s.endpoints.map(endpointText).join(', ') || '-', statusText(stale[s.name]), shortId(s.id)]),
    ) + staleFootnote(stale)
  );
}

/** One row per interface, for `sandbox inspect` and the demo. */
export function endpointRows(s: SandboxRecord): string[][] {
  return s.endpoints.map((e) => [e.networkName, e.ifname, e.ipv4 ?? '-', e.ipv6 ?? '-', e.gateway4 ?? e.gateway6 ?? '-', e.providesDefaultRoute ? 'yes' : 'no']);
}

export const ENDPOINT_HEADERS = ['NETWORK', 'IFACE', 'IPV4', 'IPV6', 'GATEWAY', 'DEFAULT ROUTE'] as const;

/** `sandbox inspect`: the record, then its interfaces. */
export function sandboxDetails(s: SandboxRecord, stale?: string): string {
  const dns = [...s.dns.nameservers.map((n) => `nameserver ${n}`), ...s.dns.search.map((d) => `search ${d}`)];
  const pairs: Array<[string, string]> = [
    ['id', s.id],
    statusPair(stale),
    ['mode', s.mode],
    ['netns', netnsText(s.netns)],
    ['owns netns', s.ownsNetns ? 'yes (removed with the sandbox)' : 'no'],
    ['hostname', s.hostname],
    ['dns', dns.length > 0 ? dns.join(', ') : '-'],
    ['files', s.filesDir ?? '-'],
    ['labels', labelsText(s.labels)],
    ['named ports', s.ports && s.ports.length > 0 ? s.ports.map((p) => `${p.name}=${p.port}/${p.protocol}`).join(', ') : '-'],
    ['created', s.createdAt],
  ];
  let out = `Sandbox ${s.name}\n` + formatPairs(pairs);
  out += s.endpoints.length > 0 ? '\nInterfaces\n' + formatTable([...ENDPOINT_HEADERS], endpointRows(s), '  ') : '\nNo interfaces besides lo.\n';
  const ports = portRows([s]);
  if (ports.length > 0) out += '\nPublished ports\n' + formatTable([...PORT_HEADERS], ports, '  ');
  return out;
}

export const PORT_HEADERS = ['SANDBOX', 'NETWORK', 'CONTAINER', 'HOST', 'ALLOW FROM'] as const;

/** One row per published port: `80/tcp` -> `0.0.0.0:8080` as `docker port` shows it. */
export function portRows(sandboxes: readonly SandboxRecord[]): string[][] {
  return sandboxes.flatMap((s) =>
    s.endpoints.flatMap((e) =>
      e.portBindings.map((b) => {
        const ip = b.hostIp ?? (e.ipv4 && e.ipv6 ? '*' : e.ipv6 ? '::' : '0.0.0.0');
        return [s.name, e.networkName, `${b.containerPort}/${b.protocol}${b.name ? ` (${b.name})` : ''}`, `${ip.includes(':') && ip !== '::' ? `[${ip}]` : ip}:${b.hostPort}`, b.allowFrom ?? 'anywhere'];
      }),
    ),
  );
}

/** One line about a new endpoint. */
export function endpointSummary(e: EndpointRecord): string {
  const addrs = [e.ipv4, e.ipv6].filter(Boolean).join(' ') || 'no address';
  const gw = e.gateway4 ?? e.gateway6;
  const ports = e.portBindings.map((b) => `${b.hostIp ? `${b.hostIp.includes(':') ? `[${b.hostIp}]` : b.hostIp}:` : ''}${b.hostPort}->${b.containerPort}/${b.protocol}${b.name ? ` (${b.name})` : ''}`);
  return `${e.ifname} ${addrs}${gw ? `, gateway ${gw}` : ''}${e.providesDefaultRoute ? ' (default route)' : ''}${ports.length > 0 ? `, ports ${ports.join(' ')}` : ''}`;
}
