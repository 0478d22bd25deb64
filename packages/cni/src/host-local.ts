/**
 * `switchyard-host-local`: a drop-in for CNI's `host-local` IPAM plugin. The same config (`ranges`, the
 * legacy `subnet`/`rangeStart`/`rangeEnd`/`gateway`, `routes`, `resolvConf`, `dataDir`), the same files in
 * the same `dataDir` (`<dataDir>/<network>/<ip>` holding `<container id>\r\n<ifname>`, `last_reserved_ip.<set>`,
 * flock on `lock`), so the reference binary and this one can serve one directory at once. On top of it:
 * GC (releases every address whose owner is not a valid attachment, whichever of the two wrote it) and
 * STATUS (fails when the directory cannot be written or a range set has no address left).
 */
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { HostLocalAllocator, ownerMatches, type CniHostLocalConfig, type RangeSet } from '@switchyard/ipam-host-local';
import { requestedAddresses } from './attachment.js';
import { cniErrorOf } from './plugin.js';
import type { NetConf } from './protocol/config.js';
import { CNI_ERROR_CODES, CniError } from './protocol/errors.js';
import type { CniDns, CniResult, CniRoute } from './protocol/result.js';
import type { PluginContext, PluginHandlers } from './protocol/run.js';
import { cidrFamily, ipFamily, isJsonObject, show } from './protocol/validate.js';

/** The plugin's name in a CNI bin directory and in `ipam.type`. */
export const HOST_LOCAL_PLUGIN = 'switchyard-host-local';

/** Settings of the `switchyard-host-local` IPAM plugin. */
export interface HostLocalPluginOptions {
  /** `dataDir` when the config names none; default CNI's `/var/lib/cni/networks`. */
  defaultDataDir?: string;
}

const invalid = (msg: string, details: string): CniError => new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, msg, details);

/**
 * The host-local config a CNI config describes: its `ipam` section, with `runtimeConfig.ipRanges` (the
 * `ipRanges` capability) replacing `ranges` when the runtime passes any, as the reference plugin does.
 */
export function hostLocalConfigOf(config: NetConf): CniHostLocalConfig {
  const ipam = config.ipam;
  if (!isJsonObject(ipam)) throw invalid('invalid network config', 'the config has no ipam section');
  const runtimeRanges = isJsonObject(config.runtimeConfig) ? config.runtimeConfig.ipRanges : undefined;
  if (runtimeRanges !== undefined && !Array.isArray(runtimeRanges)) throw invalid('invalid runtimeConfig.ipRanges', `expected a list of range sets, got ${show(runtimeRanges)}`);
  const ranges = Array.isArray(runtimeRanges) && runtimeRanges.length > 0 ? { ranges: runtimeRanges } : {};
  return { name: config.name, ipam: { ...ipam, ...ranges } };
}

/** `ipam.routes`, checked: a list of `{dst, gw?}` with a CIDR destination and an address as next hop. */
export function routesOf(ipam: Record<string, unknown>): CniRoute[] | undefined {
  const routes = ipam.routes;
  if (routes === undefined) return undefined;
  if (!Array.isArray(routes)) throw invalid('invalid ipam.routes', `expected a list, got ${show(routes)}`);
  return routes.map((r: unknown, i): CniRoute => {
    if (!isJsonObject(r) || typeof r.dst !== 'string' || cidrFamily(r.dst) === undefined) throw invalid('invalid ipam.routes', `entry ${i} needs "dst" in CIDR notation, got ${show(r)}`);
    if (r.gw !== undefined && (typeof r.gw !== 'string' || ipFamily(r.gw) === undefined)) throw invalid('invalid ipam.routes', `entry ${i}: gw ${show(r.gw)} is not an IP address`);
    return { dst: r.dst, ...(typeof r.gw === 'string' ? { gw: r.gw } : {}) };
  });
}

/** The DNS settings of a resolv.conf file (`nameserver`, `domain`, `search`, `options` lines), as host-local's `resolvConf` reads them. */
export function parseResolvConf(text: string): CniDns {
  const dns: Required<CniDns> = { nameservers: [], domain: '', search: [], options: [] };
  for (const line of text.split('\n')) {
    const [key, ...values] = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/);
    if (key === 'nameserver' && values[0]) dns.nameservers.push(values[0]);
    else if (key === 'domain' && values[0]) dns.domain = values[0];
    else if (key === 'search') dns.search = values;
    else if (key === 'options') dns.options.push(...values);
  }
  return {
    ...(dns.nameservers.length > 0 ? { nameservers: dns.nameservers } : {}),
    ...(dns.domain ? { domain: dns.domain } : {}),
    ...(dns.search.length > 0 ? { search: dns.search } : {}),
    ...(dns.options.length > 0 ? { options: dns.options } : {}),
  };
}

function dnsOf(ipam: Record<string, unknown>): CniDns | undefined {
  const path = ipam.resolvConf;
  if (path === undefined || path === '') return undefined;
  if (typeof path !== 'string') throw invalid('invalid ipam.resolvConf', `expected a file path, got ${show(path)}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CniError(CNI_ERROR_CODES.IO_FAILURE, `cannot read ipam.resolvConf ${path}`, error instanceof Error ? error.message : String(error));
  }
  const dns = parseResolvConf(text);
  return Object.keys(dns).length > 0 ? dns : undefined;
}

function ownerOf(ctx: PluginContext): { id: string; ifname: string } {
  const { containerId, ifname } = ctx.env;
  if (containerId === undefined || ifname === undefined) throw new CniError(CNI_ERROR_CODES.INVALID_ENVIRONMENT, 'missing environment variables', 'CNI_CONTAINERID and CNI_IFNAME');
  return { id: containerId, ifname };
}

/** How many addresses a range set can hand out at most (gateways excluded), capped: only "none left" matters. */
function capacityOf(set: RangeSet): bigint {
  return set.ranges.reduce((sum, r) => sum + (r.end - r.start + 1n) - (r.gateway >= r.start && r.gateway <= r.end ? 1n : 0n), 0n);
}

/** `path`, or its closest ancestor that exists. */
function nearestExisting(path: string): string {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/**
 * The handlers of `switchyard-host-local` (see the module notes above): ADD allocates from the config's ranges,
 * DEL releases the attachment's addresses, CHECK verifies they are still held, STATUS checks the directory is
 * writable and every range set has room, GC releases addresses of attachments not listed as valid.
 */
export function hostLocalPlugin(options: HostLocalPluginOptions = {}): PluginHandlers {
  const allocatorFor = (config: NetConf) => HostLocalAllocator.fromCniConfig(hostLocalConfigOf(config), { ...(options.defaultDataDir ? { defaultDataDir: options.defaultDataDir } : {}) });
  const coded = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw cniErrorOf(error);
    }
  };

  return {
    // One address per range set, the owner's again when it asks twice; routes and DNS from the config.
    add: (ctx) =>
      coded(async (): Promise<CniResult> => {
        const ipam = hostLocalConfigOf(ctx.config).ipam;
        const routes = routesOf(ipam);
        const dns = dnsOf(ipam);
        const allocator = allocatorFor(ctx.config);
        const allocations = await allocator.allocate(
          ownerOf(ctx),
          requestedAddresses(ctx.config, ctx.env).map((r) => r.address),
        );
        return {
          ips: allocations.map((a) => ({ address: a.cidr, gateway: a.gateway })),
          ...(routes ? { routes } : {}),
          ...(dns ? { dns } : {}),
        };
      }),

    // Releases whatever the owner holds in this network, written by either binary; nothing held is success.
    del: (ctx) =>
      coded(async () => {
        const { containerId, ifname } = ctx.env;
        const allocator = allocatorFor(ctx.config);
        if (containerId === undefined || ifname === undefined || !existsSync(allocator.store.networkDir)) return;
        await allocator.release({ id: containerId, ifname });
      }),

    // The owner holds an address in every range set, and every address of the prevResult in our ranges is its.
    check: (ctx) =>
      coded(async () => {
        const owner = ownerOf(ctx);
        const allocator = allocatorFor(ctx.config);
        if (!existsSync(allocator.store.networkDir)) throw new CniError(CNI_ERROR_CODES.UNKNOWN_CONTAINER, 'no address is allocated to this attachment', `network ${ctx.config.name} has no allocations`);
        await allocator.store.locked(async () => {
          const held = await allocator.store.addressesOf(owner, { thorough: true });
          if (held.length === 0) throw new CniError(CNI_ERROR_CODES.UNKNOWN_CONTAINER, 'no address is allocated to this attachment', `container ${owner.id} interface ${owner.ifname} in network ${ctx.config.name}`);
          for (const ip of ctx.prevResult?.ips ?? []) {
            const address = ip.address.split('/')[0] as string;
            const holder = await allocator.store.ownerOf(address);
            const ours = allocator.setOf(address) !== undefined;
            if (ours && (holder === undefined || !ownerMatches(holder, owner))) {
              throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, `address ${address} is not allocated to this attachment`, holder ? `held by ${holder.id}` : 'it is free');
            }
          }
        });
      }),

    // Ready when the data directory can be written (or made) and every range set has an address left; it changes nothing.
    status: (ctx) =>
      coded(async () => {
        const allocator = allocatorFor(ctx.config);
        const dir = allocator.store.networkDir;
        const exists = existsSync(dir);
        try {
          const nearest = nearestExisting(dir);
          if (!statSync(nearest).isDirectory()) throw new Error(`${nearest} is not a directory`);
          accessSync(nearest, constants.W_OK);
        } catch (error) {
          throw new CniError(CNI_ERROR_CODES.PLUGIN_NOT_AVAILABLE, `the data directory ${dir} cannot be written`, error instanceof Error ? error.message : String(error));
        }
        const held = exists ? await allocator.store.locked(() => allocator.store.addresses()) : [];
        for (const [i, set] of allocator.sets.entries()) {
          const used = held.filter((a) => allocator.setOf(a) === i).length;
          if (BigInt(used) >= capacityOf(set)) throw new CniError(CNI_ERROR_CODES.PLUGIN_NOT_AVAILABLE, `range set ${i} of network ${ctx.config.name} has no address left`, `${used} addresses allocated`);
        }
      }),

    // Every address of this network whose owner is not a valid attachment goes, whichever binary wrote it.
    gc: (ctx) =>
      coded(async () => {
        const allocator = allocatorFor(ctx.config);
        const keep = ctx.validAttachments.map((a) => ({ id: a.containerID, ifname: a.ifname }));
        if (!existsSync(allocator.store.networkDir)) return;
        await allocator.store.locked(async () => {
          for (const address of await allocator.store.addresses()) {
            const holder = await allocator.store.ownerOf(address);
            if (holder && !keep.some((owner) => ownerMatches(holder, owner))) await allocator.store.release(address);
          }
          await allocator.store.tidyIndex();
        });
      }),
  };
}
