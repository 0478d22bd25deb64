import { addressFamily, familyOf, SwitchyardError, type IpFamily } from '@switchyard/core';

/** `k=v` pairs of a repeatable flag (`--label`, `-o`) as an object; a later key wins. */
const KEY_VALUE_EXAMPLES: Readonly<Record<string, string>> = {
  '--label': '--label team=web',
  '-o': '-o mtu=1400',
  '--aux-address': '--aux-address my-router=10.88.0.5',
  '--ipam-opt': '--ipam-opt dataDir=/var/lib/cni/networks',
};

export function parseKeyValues(flag: string, values: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `${flag} ${JSON.stringify(pair)} is not in key=value form`, {
        hint: `Write ${flag} key=value, e.g. ${KEY_VALUE_EXAMPLES[flag] ?? `${flag} mtu=1400`}.`,
        details: { flag, value: pair },
      });
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A CIDR of the given family, for --subnet / --subnet6 / --ip-range. */
export function parseCidrFlag(flag: string, value: string, family: IpFamily): string {
  if (!value.includes('/') || familyOf(value) !== family) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `${flag} ${JSON.stringify(value)} is not an IPv${family} CIDR`, {
      hint: family === 4 ? `Write it like ${flag} 10.88.0.0/24${flag === '--subnet' ? ' (IPv6 goes in --subnet6)' : ''}.` : `Write it like ${flag} fd00:88::/64.`,
      details: { flag, value },
    });
  }
  return value;
}

/** An address without prefix of the given family, for --ip / --ip6 / --gateway. */
export function parseAddressFlag(flag: string, value: string, family: IpFamily): string {
  if (addressFamily(value) !== family) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `${flag} ${JSON.stringify(value)} is not an IPv${family} address`, {
      hint: family === 4 ? `Write it like ${flag} 10.88.0.5 (no prefix length).` : `Write it like ${flag} fd00:88::5 (no prefix length).`,
      details: { flag, value },
    });
  }
  return value;
}

/** An integer flag within bounds. */
export function parseIntegerFlag(flag: string, value: string, min: number, max: number): number {
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new SwitchyardError('SWY_ERR_USAGE', `${flag} ${JSON.stringify(value)} is not an integer from ${min} to ${max}`, {
      hint: `Write it like ${flag} ${Math.max(min, 1)}.`,
      details: { flag, value },
    });
  }
  return n;
}

/** A usage error raised by a command after parsing (conflicting flags and the like). */
export function usageError(message: string, hint: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_USAGE', message, { hint });
}
