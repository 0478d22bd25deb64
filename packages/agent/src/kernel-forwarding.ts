import { execa } from 'execa';
import { SwitchyardError } from '@switchyard/core';
import { AGENT_ROUTE_PROTOCOL, emptyForwarding, fdbKey, neighKey, type ForwardingChanges, type ForwardingState } from './forwarding.js';

interface FdbJson {
  mac: string;
  dst?: string;
  flags?: string[];
}
interface NeighJson {
  dst: string;
  lladdr?: string;
  state?: string[];
}
interface RouteJson {
  dst: string;
  gateway?: string;
}

async function json<T>(file: string, args: string[]): Promise<T[]> {
  const { stdout } = await execa(file, ['-j', ...args]);
  return stdout.trim() === '' ? [] : (JSON.parse(stdout) as T[]);
}

/**
 * Reads what the agent owns in this namespace: FDB entries with a remote destination and permanent
 * neighbour entries on the given VXLAN devices, and routes of the agent's protocol.
 */
export async function readForwarding(vxlanDevices: readonly string[]): Promise<ForwardingState> {
  const state = emptyForwarding();
  for (const dev of vxlanDevices) {
    for (const e of await json<FdbJson>('bridge', ['fdb', 'show', 'dev', dev])) {
      if (e.dst === undefined || e.mac === '00:00:00:00:00:00') continue;
      state.fdb.set(fdbKey(dev, e.mac), { dev, mac: e.mac.toLowerCase(), dst: e.dst });
    }
    for (const n of await json<NeighJson>('ip', ['neigh', 'show', 'dev', dev])) {
      if (!n.lladdr || !(n.state ?? []).includes('PERMANENT')) continue;
      state.neigh.set(neighKey(dev, n.dst), { dev, ip: n.dst, mac: n.lladdr.toLowerCase() });
    }
  }
  for (const r of await json<RouteJson>('ip', ['route', 'show', 'proto', String(AGENT_ROUTE_PROTOCOL)])) {
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
    const res = await execa(file, ['-force', '-batch', '-'], { input: lines.join('\n') + '\n', reject: false });
    if (res.exitCode !== 0) failures.push(`${file}: ${res.stderr.trim()}`);
  }
  if (failures.length > 0) {
    throw new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `Programming forwarding entries failed: ${failures.join('; ')}`, {
      hint: 'The agent retries on its next pass; check that the overlay devices exist (`switchyard gc` restores them).',
    });
  }
}
