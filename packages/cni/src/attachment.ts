/**
 * How a CNI attachment maps onto Switchyard's objects, for every plugin executable: the container is a
 * sandbox adopting the runtime's netns, the attachment (container id, ifname) is an endpoint on the
 * network the config names, and the capability arguments (`runtimeConfig`, `args.cni`, `CNI_ARGS`)
 * become connect options. Pure functions: the plugins call the controller with what these return.
 */
import { createHash } from 'node:crypto';
import { isObjectName, type ConnectOptions, type EndpointRecord, type NetworkRecord, type PortBinding } from '@switchyard/core';
import { CNI_ERROR_CODES, CniError } from './protocol/errors.js';
import type { NetConf } from './protocol/config.js';
import type { CniEnvironment } from './protocol/env.js';
import type { CniDns, CniInterface, CniResult } from './protocol/result.js';
import { cidrFamily, DNS_KEYS, ipFamily, isJsonObject, show } from './protocol/validate.js';

/** Sandbox names of CNI containers start with this, so `switchyard sandbox ls` tells them apart. */
export const CNI_SANDBOX_PREFIX = 'cni-';

/**
 * The sandbox that stands for a container: `cni-<container id>` when that is a valid object name (at
 * most 63 characters), else `cni-` and 40 hex digits of the id's SHA-256 (a runtime's 64-hex ids are too long).
 */
export function sandboxNameFor(containerId: string): string {
  const direct = `${CNI_SANDBOX_PREFIX}${containerId}`;
  if (isObjectName(direct)) return direct;
  return `${CNI_SANDBOX_PREFIX}${createHash('sha256').update(containerId).digest('hex').slice(0, 40)}`;
}

const invalid = (msg: string, details: string): CniError => new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, msg, details);

/**
 * The `portMappings` capability (`runtimeConfig.portMappings: [{hostPort, containerPort, protocol, hostIP}]`,
 * as CNI's portmap reads it) as Switchyard port bindings; protocol defaults to tcp, hostIP "" means every
 * address. A malformed entry is code 7 naming it; ports are checked again by core at connect.
 */
export function portBindingsFrom(config: NetConf): PortBinding[] {
  const runtime = config.runtimeConfig;
  const mappings = isJsonObject(runtime) ? runtime.portMappings : undefined;
  if (mappings === undefined) return [];
  if (!Array.isArray(mappings)) throw invalid('invalid runtimeConfig.portMappings', `expected a list, got ${show(mappings)}`);
  return mappings.map((m: unknown, i): PortBinding => {
    if (!isJsonObject(m)) throw invalid('invalid runtimeConfig.portMappings', `entry ${i} is not an object: ${show(m)}`);
    const { hostPort, containerPort, protocol = 'tcp', hostIP } = m;
    const port = (v: unknown, what: string) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw invalid('invalid runtimeConfig.portMappings', `entry ${i}: ${what} ${show(v)} is not a port (1-65535)`);
      return v;
    };
    const proto = typeof protocol === 'string' ? protocol.toLowerCase() : protocol;
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') throw invalid('invalid runtimeConfig.portMappings', `entry ${i}: protocol ${show(protocol)} is not tcp, udp or sctp`);
    if (hostIP !== undefined && hostIP !== '' && (typeof hostIP !== 'string' || ipFamily(hostIP) === undefined)) {
      throw invalid('invalid runtimeConfig.portMappings', `entry ${i}: hostIP ${show(hostIP)} is not an IP address`);
    }
    return { protocol: proto, hostPort: port(hostPort, 'hostPort'), containerPort: port(containerPort, 'containerPort'), ...(typeof hostIP === 'string' && hostIP !== '' ? { hostIp: hostIP } : {}) };
  });
}

/**
 * The static addresses a runtime asks for, from the most specific place that names any: `runtimeConfig.ips`
 * (the `ips` capability), `args.cni.ips`, then CNI_ARGS `IP=` (comma-separated). A prefix length is dropped
 * (the range decides it); anything that is not an address is code 7 naming it.
 */
export function requestedAddresses(
  config: NetConf,
  env: CniEnvironment,
): {
  /** The address, without prefix length. */
  address: string;
  /** Its family. */
  family: 4 | 6;
}[] {
  const runtime = isJsonObject(config.runtimeConfig) ? config.runtimeConfig : {};
  const argsCni = isJsonObject(config.args) && isJsonObject(config.args.cni) ? config.args.cni : {};
  const listed = (v: unknown, where: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`invalid ${where}`, `expected a list of addresses, got ${show(v)}`);
    return v as string[];
  };
  const ips = listed(runtime.ips, 'runtimeConfig.ips') ?? listed(argsCni.ips, 'args.cni.ips') ?? (env.args.IP ? env.args.IP.split(',') : []);
  return ips.map((raw) => {
    const text = raw.trim();
    const family = text.includes('/') ? cidrFamily(text) : ipFamily(text);
    if (family === undefined) throw invalid('invalid static address', `${show(raw)} is not an IP address`);
    return { address: text.split('/')[0] as string, family };
  });
}

/**
 * Static addresses and MAC from every place a runtime may put them, the most specific first:
 * `runtimeConfig.ips`/`mac` (capabilities), `args.cni.ips`/`mac`, then CNI_ARGS `IP=`/`MAC=`. Addresses may
 * carry a prefix length (dropped: the network's subnet decides it); at most one per family.
 */
export function connectOptionsFrom(config: NetConf, env: CniEnvironment): ConnectOptions {
  const runtime = isJsonObject(config.runtimeConfig) ? config.runtimeConfig : {};
  const argsCni = isJsonObject(config.args) && isJsonObject(config.args.cni) ? config.args.cni : {};
  const opts: ConnectOptions = { ...(env.ifname ? { ifname: env.ifname } : {}) };
  for (const { address, family } of requestedAddresses(config, env)) {
    const key = family === 4 ? 'ipv4' : 'ipv6';
    if (opts[key] !== undefined) throw invalid('invalid static address', `more than one IPv${family} address asked for: ${opts[key]} and ${address}`);
    opts[key] = address;
  }
  const mac = runtime.mac ?? argsCni.mac ?? env.args.MAC;
  if (mac !== undefined) {
    if (typeof mac !== 'string') throw invalid('invalid MAC address', `${show(mac)} is not a string`);
    opts.mac = mac;
  }
  const ports = portBindingsFrom(config);
  if (ports.length > 0) opts.portBindings = ports;
  // The `aliases` capability: { "<network name>": ["name", ...] }, the names this container answers to on the network.
  const aliases = isJsonObject(runtime.aliases) ? runtime.aliases[config.name] : undefined;
  if (aliases !== undefined) {
    if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string')) throw invalid('invalid runtimeConfig.aliases', `expected a list of names for network ${config.name}, got ${show(aliases)}`);
    if (aliases.length > 0) opts.aliases = aliases as string[];
  }
  return opts;
}

/**
 * The DNS an ADD result reports: the config's `dns`, with the `dns` capability's `runtimeConfig.dns`
 * (`servers`, `searches`, `options`, as the runtimes pass it) taking precedence field by field.
 */
export function dnsFrom(config: NetConf): CniDns | undefined {
  const runtime = isJsonObject(config.runtimeConfig) && isJsonObject(config.runtimeConfig.dns) ? config.runtimeConfig.dns : {};
  const list = (v: unknown, where: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`invalid runtimeConfig.dns.${where}`, `expected a list of strings, got ${show(v)}`);
    return v as string[];
  };
  const servers = list(runtime.servers, 'servers');
  const searches = list(runtime.searches, 'searches');
  const options = list(runtime.options, 'options');
  const dns: CniDns = { ...config.dns, ...(servers ? { nameservers: servers } : {}), ...(searches ? { search: searches } : {}), ...(options ? { options } : {}) };
  return Object.keys(dns).length > 0 ? dns : undefined;
}

/**
 * The ADD result for an endpoint: the host-side interfaces the plugin reports first (a bridge, a veth's
 * host end), then the container interface with its netns; each address points at the container interface
 * and carries its subnet's gateway (as IPAM reports it in CNI, whether or not the endpoint routes through it).
 */
export function resultFromEndpoint(endpoint: EndpointRecord, netns: string, hostSide: CniInterface[] = [], dns?: CniDns, network?: Pick<NetworkRecord, 'ipv4' | 'ipv6'>): CniResult {
  const container: CniInterface = { name: endpoint.ifname, ...(endpoint.mac ? { mac: endpoint.mac } : {}), sandbox: netns };
  const index = hostSide.length;
  const gateway4 = endpoint.gateway4 ?? network?.ipv4?.gateway;
  const gateway6 = endpoint.gateway6 ?? network?.ipv6?.gateway;
  const ips = [
    ...(endpoint.ipv4 ? [{ address: endpoint.ipv4, ...(gateway4 ? { gateway: gateway4 } : {}), interface: index }] : []),
    ...(endpoint.ipv6 ? [{ address: endpoint.ipv6, ...(gateway6 ? { gateway: gateway6 } : {}), interface: index }] : []),
  ];
  const routes = [
    ...(endpoint.providesDefaultRoute && endpoint.routing.v4 && endpoint.gateway4 ? [{ dst: '0.0.0.0/0', gw: endpoint.gateway4 }] : []),
    ...(endpoint.providesDefaultRoute && endpoint.routing.v6 && endpoint.gateway6 ? [{ dst: '::/0', gw: endpoint.gateway6 }] : []),
  ];
  // The config's dns as the spec's DNS type: keys it does not define are not passed on.
  const knownDns = dns ? Object.fromEntries(Object.entries(dns).filter(([key]) => (DNS_KEYS as readonly string[]).includes(key))) : {};
  return { interfaces: [...hostSide, container], ips, ...(routes.length > 0 ? { routes } : {}), ...(Object.keys(knownDns).length > 0 ? { dns: knownDns } : {}) };
}
