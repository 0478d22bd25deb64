import { addressFamily, SwitchyardError } from '@switchyard/core';
import { usageError } from '../flags.js';

/** One network named in `--net`, with its per-network arguments (rkt's `name:IP=1.2.3.4`). */
export interface NetRequest {
  name: string;
  ipv4?: string;
  ipv6?: string;
}

/** What `--net` asks for, as rkt reads it. */
export type NetList = { kind: 'host' } | { kind: 'none' } | { kind: 'contained'; all: boolean; requests: NetRequest[] };

/** rkt's default when no --net is given. */
export const DEFAULT_NET = 'default';

/**
 * Parses every `--net` value: comma-separated networks, each optionally `name:K=V;K=V`. `host` and
 * `none` stand alone; `all` loads every net.d network and may sit beside others that carry arguments.
 * A network may be named once across all values.
 */
export function parseNetList(values: readonly string[]): NetList {
  const items = (values.length > 0 ? values : [DEFAULT_NET]).flatMap((v) => v.split(','));
  const requests: NetRequest[] = [];
  let all = false;
  const special = new Set<string>();
  for (const item of items) {
    const colon = item.indexOf(':');
    const name = colon < 0 ? item : item.slice(0, colon);
    const args = colon < 0 ? undefined : item.slice(colon + 1);
    if (name === '') throw usageError(`--net has an empty network name in ${JSON.stringify(values.join(','))}`, 'Write --net=net1,net2 (no empty entries).');
    if (name === 'host' || name === 'none' || name === 'all') {
      if (args !== undefined) throw usageError(`--net=${name} takes no arguments`, `Write --net=${name}, and give arguments to named networks (--net=all,net1:IP=10.1.0.5).`);
      if (special.has(name)) throw usageError(`--net names "${name}" more than once`, 'Name each network once.');
      special.add(name);
      if (name === 'all') all = true;
      continue;
    }
    if (requests.some((r) => r.name === name)) throw usageError(`--net names network "${name}" more than once`, 'Name each network once, across all --net flags.');
    requests.push({ name, ...parseNetArgs(name, args) });
  }
  for (const mode of ['host', 'none'] as const) {
    if (special.has(mode)) {
      if (items.length > 1)
        throw usageError(`--net=${mode} cannot be combined with other networks`, mode === 'host' ? 'Use --net=host alone: the command shares the host namespace.' : 'Use --net=none alone: the sandbox gets loopback only.');
      return { kind: mode };
    }
  }
  return { kind: 'contained', all, requests };
}

function parseNetArgs(name: string, args: string | undefined): Omit<NetRequest, 'name'> {
  const out: Omit<NetRequest, 'name'> = {};
  if (args === undefined) return out;
  for (const pair of args.split(';').filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (key !== 'IP') {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `--net argument "${key}" for network "${name}" is not supported`, {
        hint: `The supported per-network argument is IP, e.g. --net=${name}:IP=10.1.0.5.`,
        details: { network: name, argument: key },
      });
    }
    const family = addressFamily(value);
    if (family === undefined) {
      throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `--net ${name}:IP=${value} is not an IP address`, { hint: `Write it like --net=${name}:IP=10.1.0.5 (no prefix length).` });
    }
    if (family === 4) out.ipv4 = value;
    else out.ipv6 = value;
  }
  return out;
}
