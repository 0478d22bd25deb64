import { SwitchyardError, detailValue, quoteValue, type IpamRangeConfig, type IpFamily, type PoolRequest } from '@switchyard/core';
import { poolIdOf, type PoolDoc, type PoolMode } from './documents.js';
import { bitsOf, formatAddress, formatNet, netContains, netOf, netsOverlap, parseAddressValue, parseNet, tryParseNet, type Net } from './cidr.js';

/** IPv4 pools picked when a network names no subnet: 10.200.0.0/16 … 10.255.0.0/16. */
export const DEFAULT_V4_POOLS = {
  /** The first candidate. */
  first: '10.200.0.0/16',
  /** The last candidate. */
  last: '10.255.0.0/16',
} as const;
/** IPv6 pools picked when a network names no subnet: the /64s of this prefix (beside host-local's fd00:5377::/48). */
export const DEFAULT_V6_PREFIX = 'fd00:5377:1::/48';

/** A pool request, checked: what the caller asked for, before the cluster's pool is read. */
export interface PoolSpec {
  /** `<network>.v<family>`. */
  poolId: string;
  /** The network's name. */
  network: string;
  /** Address family. */
  family: IpFamily;
  /** The subnet asked for, if any. */
  subnet?: Net;
  /** The gateway asked for, if any. */
  gateway?: bigint;
  /** The `blockPrefix` option, if given. */
  blockPrefix?: number;
  /** The `mode` option, if given. */
  mode?: PoolMode;
  /** What a new pool must not overlap (this host's routes, addresses and other networks). */
  exclude: Net[];
}

const OPTIONS = ['blockPrefix', 'mode'];
const UNSUPPORTED_RANGE_FIELDS = ['ipRange', 'rangeStart', 'rangeEnd'] as const;
const hasAnyField = (r: IpamRangeConfig | undefined): boolean => !!r && typeof r === 'object' && Object.values(r).some((v) => v !== undefined);

function invalidOption(message: string, hint: string, details?: Record<string, unknown>): SwitchyardError {
  return new SwitchyardError('SWY_ERR_INVALID_OPTION', message, { hint, ...(details ? { details } : {}) });
}

/** Checks a pool request's family, range and options (SWY_ERR_INVALID_OPTION / _INVALID_CIDR / _RANGE_INVALID / _SUBNET_TOO_SMALL). */
export function parsePoolRequest(request: PoolRequest): PoolSpec {
  const network = request?.networkName;
  if (typeof network !== 'string' || network === '') {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Network name ${quoteValue(network)} cannot name a global pool.`, { hint: 'Request the pool with the network’s name.' });
  }
  const family = request.family;
  if (family !== 4 && family !== 6) throw invalidOption(`Address family ${quoteValue(family)} is neither 4 nor 6.`, 'Request a pool with family 4 or 6.');
  const options = request.options ?? {};
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) throw invalidOption(`The global IPAM has no option ${quoteValue(key)}.`, `Its options are ${OPTIONS.join(' and ')}.`, { option: key });
  }
  const mode = options['mode'];
  if (mode !== undefined && mode !== 'blocks' && mode !== 'host-subnet') {
    throw invalidOption(`ipam option mode ${quoteValue(mode)} is neither 'blocks' nor 'host-subnet'.`, "Use mode 'blocks' (addresses from small per-host blocks) or 'host-subnet' (one subnet per host).", {
      option: 'mode',
      value: detailValue(mode),
    });
  }
  const rawPrefix = options['blockPrefix'];
  const blockPrefix = typeof rawPrefix === 'string' && /^\d{1,3}$/.test(rawPrefix) ? Number(rawPrefix) : rawPrefix;
  if (blockPrefix !== undefined && (typeof blockPrefix !== 'number' || !Number.isInteger(blockPrefix) || blockPrefix < 0 || blockPrefix > bitsOf(family))) {
    throw invalidOption(`ipam option blockPrefix ${quoteValue(rawPrefix)} is not a prefix length of IPv${family}.`, `Give a whole number between the subnet's prefix and ${bitsOf(family)}, e.g. ${family === 4 ? 26 : 122}.`, {
      option: 'blockPrefix',
      value: detailValue(rawPrefix),
    });
  }
  const ranges: unknown = request.ranges ?? [];
  if (!Array.isArray(ranges)) {
    throw new SwitchyardError('SWY_ERR_RANGE_INVALID', `The ranges of an IPv${family} pool request must be a list, not ${quoteValue(ranges)}.`, { hint: 'Pass a list with at most one {subnet, gateway?}.' });
  }
  const given = (ranges as IpamRangeConfig[]).filter(hasAnyField);
  if (given.length > 1) throw invalidOption(`A global pool has one subnet per family; ${given.length} IPv${family} ranges were given.`, 'Give one subnet per family.');
  const spec: PoolSpec = {
    poolId: poolIdOf(network, family),
    network,
    family,
    exclude: (request.exclude ?? []).map(tryParseNet).filter((n): n is Net => n?.family === family),
    ...(blockPrefix === undefined ? {} : { blockPrefix }),
    ...(mode === undefined ? {} : { mode }),
  };
  const range = given[0];
  if (!range) return spec;
  for (const field of UNSUPPORTED_RANGE_FIELDS) {
    if (range[field] !== undefined)
      throw invalidOption(`The global IPAM does not take ${field}: hosts hand out addresses from their own blocks of the whole subnet.`, `Leave ${field} out, or use the host-local IPAM.`, { option: field });
  }
  if (range.subnet === undefined) throw invalidOption(`An IPv${family} range without a subnet was given.`, 'Give the subnet with the gateway, or leave both out for a default pool.');
  const subnet = parseNet(range.subnet, 'subnet');
  if (subnet.family !== family) {
    throw new SwitchyardError('SWY_ERR_RANGE_INVALID', `An IPv${family} pool was requested, but its subnet ${formatNet(subnet)} is IPv${subnet.family}.`, {
      hint: `Put IPv${subnet.family} subnets under ipam.ipv${subnet.family}.`,
    });
  }
  if (subnet.prefix > bitsOf(family) - 2) {
    throw new SwitchyardError('SWY_ERR_SUBNET_TOO_SMALL', `Subnet ${formatNet(subnet)} has no room for a gateway and endpoints.`, { hint: `Use a subnet of /${bitsOf(family) - 2} or larger.` });
  }
  spec.subnet = subnet;
  if (range.gateway !== undefined) {
    const g = parseAddressValue(range.gateway, 'gateway');
    if (!netContains(subnet, g.family, g.value) || g.value === subnet.network || (family === 4 && g.value === subnet.last)) {
      throw new SwitchyardError('SWY_ERR_RANGE_INVALID', `Gateway ${quoteValue(range.gateway)} is not a host address of ${formatNet(subnet)}.`, { hint: `Pick a gateway inside ${formatNet(subnet)}, or leave it out.` });
    }
    spec.gateway = g.value;
  }
  return spec;
}

function* defaultCandidates(family: IpFamily): Generator<Net> {
  if (family === 4) {
    for (let second = 200n; second <= 255n; second++) yield netOf(4, (10n << 24n) | (second << 16n), 16);
    return;
  }
  const prefix = parseNet(DEFAULT_V6_PREFIX, 'default prefix');
  for (let i = 0n; i < 1n << 16n; i++) yield netOf(6, prefix.network + (i << 64n), 64);
}

/** The block prefix a pool gets when the request names none. */
export function defaultBlockPrefix(family: IpFamily, mode: PoolMode, subnet: Net): number {
  const wanted = mode === 'host-subnet' ? (family === 4 ? 24 : 120) : family === 4 ? 26 : 122;
  return Math.max(wanted, subnet.prefix);
}

/** The pool document a request creates, given the cluster's other pools (SWY_ERR_POOL_OVERLAP / _NO_FREE_POOL / _INVALID_OPTION / _RANGE_INVALID). */
export function newPoolDoc(spec: PoolSpec, others: PoolDoc[]): PoolDoc {
  const family = spec.family;
  const taken = others.filter((p) => p.family === family && p.network !== spec.network).map((p) => ({ net: parseNet(p.subnet, 'pool subnet'), network: p.network }));
  let subnet = spec.subnet;
  if (subnet) {
    const clash = spec.exclude.find((e) => netsOverlap(e, subnet!));
    const pool = taken.find((t) => netsOverlap(t.net, subnet!));
    if (clash || pool) {
      const what = pool ? `global network ${pool.network}'s pool ${formatNet(pool.net)}` : `${formatNet(clash!)}, which a host route, host address or another network uses`;
      throw new SwitchyardError('SWY_ERR_POOL_OVERLAP', `Subnet ${formatNet(subnet)} overlaps ${what}.`, {
        hint: 'Pick another subnet, or leave it out to get a free one.',
        details: { subnet: formatNet(subnet), overlaps: formatNet(pool?.net ?? clash!) },
      });
    }
  } else {
    for (const candidate of defaultCandidates(family)) {
      if (!spec.exclude.some((e) => netsOverlap(e, candidate)) && !taken.some((t) => netsOverlap(t.net, candidate))) {
        subnet = candidate;
        break;
      }
    }
    if (!subnet) {
      const where = family === 4 ? `${DEFAULT_V4_POOLS.first} … ${DEFAULT_V4_POOLS.last}` : `${DEFAULT_V6_PREFIX} in /64s`;
      throw new SwitchyardError('SWY_ERR_NO_FREE_POOL', `No free default IPv${family} pool for global network ${spec.network}: every candidate (${where}) overlaps another global pool or something of this host.`, {
        hint: 'Give the network a subnet explicitly, or remove global networks that are no longer used.',
      });
    }
  }
  const mode = spec.mode ?? 'blocks';
  const blockPrefix = spec.blockPrefix ?? defaultBlockPrefix(family, mode, subnet);
  const most = mode === 'host-subnet' ? bitsOf(family) - 2 : bitsOf(family);
  if (blockPrefix < subnet.prefix || blockPrefix > most) {
    throw invalidOption(`ipam option blockPrefix ${blockPrefix} does not fit subnet ${formatNet(subnet)} in mode ${mode}.`, `Give a blockPrefix between ${subnet.prefix} and ${most}.`, {
      option: 'blockPrefix',
      value: blockPrefix,
    });
  }
  if (mode === 'host-subnet' && spec.gateway !== undefined) {
    throw invalidOption(`A gateway was given for a host-subnet pool, where each host's block has its own gateway (its first address).`, 'Leave the gateway out in host-subnet mode.', { option: 'gateway' });
  }
  const gateway = mode === 'blocks' ? (spec.gateway ?? subnet.network + 1n) : undefined;
  return { network: spec.network, family, subnet: formatNet(subnet), ...(gateway === undefined ? {} : { gateway: formatAddress(family, gateway) }), blockPrefix, mode };
}

/** Throws SWY_ERR_GLOBAL_NETWORK_MISMATCH (or _POOL_OVERLAP) unless the cluster's pool is the one the request describes. */
export function checkAdoption(doc: PoolDoc, spec: PoolSpec): void {
  const differences: string[] = [];
  if (spec.subnet && formatNet(spec.subnet) !== doc.subnet) differences.push(`subnet ${formatNet(spec.subnet)} (the cluster's is ${doc.subnet})`);
  if (spec.gateway !== undefined && formatAddress(spec.family, spec.gateway) !== doc.gateway) differences.push(`gateway ${formatAddress(spec.family, spec.gateway)} (the cluster's is ${doc.gateway ?? 'per host'})`);
  if (spec.blockPrefix !== undefined && spec.blockPrefix !== doc.blockPrefix) differences.push(`blockPrefix ${spec.blockPrefix} (the cluster's is ${doc.blockPrefix})`);
  if (spec.mode !== undefined && spec.mode !== doc.mode) differences.push(`mode ${spec.mode} (the cluster's is ${doc.mode})`);
  if (differences.length > 0) {
    throw new SwitchyardError('SWY_ERR_GLOBAL_NETWORK_MISMATCH', `Global network ${spec.network} exists in the cluster with another IPv${spec.family} pool: this host asked for ${differences.join(', ')}.`, {
      hint: `Create the network with the cluster's settings (or none: the pool is adopted), or use another name.`,
      details: { poolId: spec.poolId, cluster: doc },
    });
  }
  // Only an explicit subnet: without one, `exclude` also holds this host's routes, which may be the pool's own.
  if (spec.subnet) {
    const subnet = parseNet(doc.subnet, 'pool subnet');
    const clash = spec.exclude.find((e) => netsOverlap(e, subnet));
    if (clash) {
      throw new SwitchyardError('SWY_ERR_POOL_OVERLAP', `Global pool ${doc.subnet} overlaps ${formatNet(clash)} on this host.`, {
        hint: `Remove the network using ${formatNet(clash)} on this host first.`,
        details: { subnet: doc.subnet, overlaps: formatNet(clash) },
      });
    }
  }
}
