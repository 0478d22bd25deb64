import { SwitchyardError, spawnRunner } from '@switchyard/core';
import { AGENT_ROUTE_PROTOCOL, emptyForwarding, fdbKey, neighKey, type ForwardingChanges, type ForwardingState } from './forwarding.js';

interface FdbJson {
  mac: string;
  ifname?: string;
  dst?: string;
}
interface NeighJson {
  dst: string;
  dev?: string;
  lladdr?: string;
  state?: string[];
}
interface RouteJson {
  dst: string;
  gateway?: string;
}

/** One `-j` listing of iproute2 (`ip` or `bridge`), parsed. */
async function json<T>(file: string, args: string[]): Promise<T[]> {
  const r = await spawnRunner(file, ['-j', ...args]);
  if (r.exitCode !== 0) throw new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `${file} ${args.join(' ')} failed: ${r.stderr.trim()}`, { hint: 'The agent retries on its next pass.' });
  return r.stdout.trim() === '' ? [] : (JSON.parse(r.stdout) as T[]);
}

/**
 * Reads what the agent owns in this namespace, in three listings whatever the number of networks: FDB
 * entries with a remote destination and permanent neighbour entries on the given VXLAN devices, and routes
 * of the agent's protocol.
 */
export async function readForwarding(vxlanDevices: readonly string[]): Promise<ForwardingState> {
  const state = emptyForwarding();
  const devices = new Set(vxlanDevices);
  const none = Promise.resolve([]);
  const [fdb, neigh, routes] = await Promise.all([
    devices.size > 0 ? json<FdbJson>('bridge', ['fdb', 'show']) : none,
    devices.size > 0 ? json<NeighJson>('ip', ['neigh', 'show', 'nud', 'permanent']) : none,
    json<RouteJson>('ip', ['route', 'show', 'proto', String(AGENT_ROUTE_PROTOCOL)]),
  ]);
  for (const e of fdb) {
    if (e.ifname === undefined || !devices.has(e.ifname) || e.dst === undefined || e.mac === '00:00:00:00:00:00') continue;
    state.fdb.set(fdbKey(e.ifname, e.mac), { dev: e.ifname, mac: e.mac.toLowerCase(), dst: e.dst });
  }
  for (const n of neigh) {
    if (n.dev === undefined || !devices.has(n.dev) || !n.lladdr) continue;
    state.neigh.set(neighKey(n.dev, n.dst), { dev: n.dev, ip: n.dst, mac: n.lladdr.toLowerCase() });
  }
  for (const r of routes) {
    if (r.gateway) state.routes.set(r.dst, { dst: r.dst, via: r.gateway });
  }
  return state;
}

/** Applies planned changes: one `bridge -batch` and one `ip -batch` (each going on past a failed line). */
export async function applyForwarding(changes: ForwardingChanges): Promise<void> {
  const failures: string[] = [];
  for (const [file, lines] of [
    ['bridge', changes.bridge],
    ['ip', changes.ip],
  ] as const) {
    if (lines.length === 0) continue;
    const res = await spawnRunner(file, ['-force', '-batch', '-'], lines.join('\n') + '\n');
    if (res.exitCode !== 0) failures.push(`${file}: ${res.stderr.trim()}`);
  }
  if (failures.length > 0) {
    throw new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `Programming forwarding entries failed: ${failures.join('; ')}`, {
      hint: 'The agent retries on its next pass; check that the overlay devices exist (`switchyard gc` restores them).',
    });
  }
}
