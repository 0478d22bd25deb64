import { SwitchyardError, type IpFamily, type IpamRangeConfig } from '@switchyard/core';
import { cidrContains, cidrOf, formatAddress, formatCidr, parseAddress, parseCidr, type Cidr } from './address.js';

/**
 * One validated range: addresses `start`..`end` (inclusive) of `subnet` are handed out, never `gateway`.
 * A request for a given address may name any of `staticStart`..`staticEnd`: the same span, except for a
 * range given as Docker's `ipRange`, where (as `docker network create --ip-range`) a static address may be
 * anywhere in the subnet and only the addresses handed out unasked come from the ipRange.
 */
export interface AddressRange {
  /** Address family. */
  family: IpFamily;
  /** The subnet. */
  subnet: Cidr;
  /** First address handed out unasked. */
  start: bigint;
  /** Last address handed out unasked. */
  end: bigint;
  /** The gateway address, never handed out. */
  gateway: bigint;
  /** First address a request may name. */
  staticStart: bigint;
  /** Last address a request may name. */
  staticEnd: bigint;
  /** The `ipRange` the range was given as, kept so its stored form means the same. */
  ipRange?: Cidr;
}

/** A range set: the owner gets one address from any of its ranges (CNI's `ranges[i]`). */
export interface RangeSet {
  /** Address family of every range in the set. */
  family: IpFamily;
  /** The ranges, in order. */
  ranges: AddressRange[];
}

/** Largest prefix that still leaves addresses to hand out (CNI rejects /31, /32, /127, /128). */
const MAX_PREFIX = { 4: 30, 6: 126 } as const;

function invalid(message: string, hint: string, details: Record<string, unknown>): SwitchyardError {
  return new SwitchyardError('SWY_ERR_RANGE_INVALID', message, { hint, details });
}

/** The upper half of a subnet as a CIDR, an example of a valid ipRange for hints. */
function upperHalf(subnet: Cidr): string {
  const half = cidrOf(subnet.family, subnet.network + (subnet.last - subnet.network + 1n) / 2n, subnet.prefixLength + 1);
  return formatCidr(half);
}

/** Last address to hand out by default: broadcast-1 for IPv4, the last address for IPv6 (as CNI). */
function lastUsable(subnet: Cidr): bigint {
  return subnet.family === 4 ? subnet.last - 1n : subnet.last;
}

/** A range in words for messages: `10.1.0.0/24 (10.1.0.2-10.1.0.254)`. */
export function describeRange(range: AddressRange): string {
  const f = range.family;
  return `${formatCidr(range.subnet)} (${formatAddress(f, range.start)}-${formatAddress(f, range.end)})`;
}

/** A range set in words: its ranges, comma-separated. */
export function describeRangeSet(set: RangeSet): string {
  return set.ranges.map(describeRange).join(', ');
}

/** Parses one range; `label` names it in errors (e.g. `ranges[1]`). */
export function parseRange(config: IpamRangeConfig, label = 'range'): AddressRange {
  if (config === null || typeof config !== 'object' || config.subnet === undefined) {
    throw invalid(`${label} has no subnet.`, 'Give every range a subnet, e.g. {"subnet": "10.1.0.0/24"}.', { range: label });
  }
  const subnet = parseCidr(config.subnet, `${label}.subnet`);
  const family = subnet.family;
  const subnetText = formatCidr(subnet);
  if (subnet.prefixLength > MAX_PREFIX[family]) {
    throw new SwitchyardError('SWY_ERR_SUBNET_TOO_SMALL', `${label}.subnet ${config.subnet} is too small to allocate addresses from.`, {
      hint: `Use a prefix of /${MAX_PREFIX[family]} or shorter (a /${MAX_PREFIX[family]} holds ${family === 4 ? 'two hosts' : 'three addresses'}).`,
      details: { field: `${label}.subnet`, value: config.subnet },
    });
  }
  const firstHost = subnet.network + 1n;
  const lastHost = lastUsable(subnet);
  const usable = `${formatAddress(family, firstHost)}-${formatAddress(family, lastHost)}`;

  // An address the range may name: same family, inside the subnet, not its network or IPv4 broadcast address.
  const hostAddress = (text: string, field: string, within: Cidr = subnet): bigint => {
    const a = parseAddress(text, `${label}.${field}`);
    const where = within === subnet ? `subnet ${subnetText}` : `ipRange ${formatCidr(within)}`;
    if (a.family !== family || !cidrContains(within, a.family, a.value) || a.value < firstHost || a.value > subnet.last - (family === 4 ? 1n : 0n)) {
      throw invalid(`${label}.${field} ${text} is not a usable address of ${where}.`, `Pick an address in ${usable}${within === subnet ? '' : ` inside ${formatCidr(within)}`}, or leave ${field} out for the default.`, {
        field: `${label}.${field}`,
        value: text,
        subnet: subnetText,
      });
    }
    return a.value;
  };

  const gateway = config.gateway === undefined ? firstHost : hostAddress(config.gateway, 'gateway');
  let start = firstHost;
  let end = lastHost;
  let span = subnet;
  if (config.ipRange !== undefined) {
    span = parseCidr(config.ipRange, `${label}.ipRange`);
    if (span.family !== family || span.network < subnet.network || span.last > subnet.last) {
      throw invalid(`${label}.ipRange ${config.ipRange} is not inside subnet ${subnetText}.`, `Give an ipRange that is a sub-block of ${subnetText}, e.g. its upper half ${upperHalf(subnet)}.`, {
        field: `${label}.ipRange`,
        value: config.ipRange,
        subnet: subnetText,
      });
    }
    start = span.network > firstHost ? span.network : firstHost;
    end = span.last < lastHost ? span.last : lastHost;
  }
  if (config.rangeStart !== undefined) start = hostAddress(config.rangeStart, 'rangeStart', span);
  if (config.rangeEnd !== undefined) end = hostAddress(config.rangeEnd, 'rangeEnd', span);
  if (start > end) {
    const s = formatAddress(family, start);
    const e = formatAddress(family, end);
    throw invalid(`${label} starts at ${s}, after its end ${e}.`, 'Make rangeStart lower than or equal to rangeEnd (or widen ipRange).', {
      range: label,
      rangeStart: s,
      rangeEnd: e,
    });
  }
  // Docker's rule for --ip-range: static addresses may be anywhere in the subnet.
  const docker = config.ipRange !== undefined;
  return { family, subnet, start, end, gateway, staticStart: docker ? firstHost : start, staticEnd: docker ? lastHost : end, ...(docker ? { ipRange: span } : {}) };
}

/** Parses a range set: one or more ranges of one family that do not overlap. */
export function parseRangeSet(configs: IpamRangeConfig[], label = 'ranges'): RangeSet {
  if (!Array.isArray(configs) || configs.length === 0) {
    throw invalid(`${label} holds no range.`, 'Give at least one range with a subnet, e.g. [{"subnet": "10.1.0.0/24"}].', { field: label });
  }
  const ranges = configs.map((c, i) => parseRange(c, configs.length === 1 ? label : `${label}[${i}]`));
  const family = ranges[0]!.family;
  ranges.forEach((r, i) => {
    if (r.family !== family) {
      throw invalid(`${label} mixes IPv${family} and IPv${r.family} (${describeRange(r)}).`, 'Put IPv4 and IPv6 ranges in separate range sets (one per family).', { field: `${label}[${i}]` });
    }
    for (let j = 0; j < i; j++) {
      const other = ranges[j]!;
      if (r.start <= other.end && other.start <= r.end) {
        throw new SwitchyardError('SWY_ERR_POOL_OVERLAP', `${label}[${i}] ${describeRange(r)} overlaps ${label}[${j}] ${describeRange(other)}.`, {
          hint: 'Give each range its own addresses: adjust rangeStart/rangeEnd or ipRange so they do not intersect.',
          details: { field: `${label}[${i}]`, overlaps: `${label}[${j}]` },
        });
      }
    }
  });
  return { family, ranges };
}

/** Throws SWY_ERR_POOL_OVERLAP when two range sets share an address (CNI forbids it across sets too). */
export function assertSetsDisjoint(sets: RangeSet[], label = 'ranges'): void {
  sets.forEach((set, i) => {
    for (let j = 0; j < i; j++) {
      for (const a of set.ranges) {
        for (const b of sets[j]!.ranges) {
          if (a.family === b.family && a.start <= b.end && b.start <= a.end) {
            throw new SwitchyardError('SWY_ERR_POOL_OVERLAP', `${label}[${i}] ${describeRange(a)} overlaps ${label}[${j}] ${describeRange(b)}.`, {
              hint: 'Each range set needs its own addresses; use separate subnets or disjoint rangeStart/rangeEnd.',
              details: { field: `${label}[${i}]`, overlaps: `${label}[${j}]` },
            });
          }
        }
      }
    }
  });
}

/** The range an address belongs to (between its static start and end: what a request may name), if any. */
export function rangeHolding(set: RangeSet, family: IpFamily, value: bigint): AddressRange | undefined {
  return set.ranges.find((r) => r.family === family && value >= r.staticStart && value <= r.staticEnd);
}

/** True when `value` is the gateway of any range in the set (never handed out). */
export function isGateway(set: RangeSet, value: bigint): boolean {
  return set.ranges.some((r) => r.gateway === value);
}

/** The explicit form of a parsed range, so a stored definition never depends on today's defaults. */
export function rangeToConfig(range: AddressRange): IpamRangeConfig {
  const f = range.family;
  return {
    subnet: formatCidr(range.subnet),
    ...(range.ipRange ? { ipRange: formatCidr(range.ipRange) } : {}),
    rangeStart: formatAddress(f, range.start),
    rangeEnd: formatAddress(f, range.end),
    gateway: formatAddress(f, range.gateway),
  };
}
