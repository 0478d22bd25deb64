import type { SandboxMode } from '@switchyard/core';
import type { NetList } from './net-list.js';

/** One network the run's sandbox joins, and why. */
export interface PlannedNetwork {
  name: string;
  ipv4?: string;
  ipv6?: string;
  /** `requested`: named in --net; `all`: from --net=all; `rkt-default`: added by rkt's default rule. */
  reason: 'requested' | 'all' | 'rkt-default';
}

export interface RunPlan {
  mode: SandboxMode;
  networks: PlannedNetwork[];
}

/**
 * Which networks `run` joins, in interface order (eth0 first). rkt's rule, kept as rkt has it: when
 * neither `default` nor `default-restricted` is among the networks, add `default` if `--net=all` was
 * given, else `default-restricted` (host-only reach, so the host can still talk to the sandbox).
 * Differs from rkt only in order: named networks keep the order they were given in, not file order.
 */
export function planRun(list: NetList, declaredInFileOrder: readonly string[]): RunPlan {
  if (list.kind === 'host') return { mode: 'host', networks: [] };
  if (list.kind === 'none') return { mode: 'none', networks: [] };
  const networks: PlannedNetwork[] = [];
  const args = new Map(list.requests.map((r) => [r.name, r]));
  const add = (name: string, reason: PlannedNetwork['reason']) => {
    if (networks.some((n) => n.name === name)) return;
    const r = args.get(name);
    networks.push({ name, ...(r?.ipv4 ? { ipv4: r.ipv4 } : {}), ...(r?.ipv6 ? { ipv6: r.ipv6 } : {}), reason });
  };
  if (list.all) for (const name of declaredInFileOrder) add(name, args.has(name) ? 'requested' : 'all');
  for (const r of list.requests) add(r.name, 'requested');
  if (!networks.some((n) => n.name === 'default' || n.name === 'default-restricted')) {
    add(list.all ? 'default' : 'default-restricted', 'rkt-default');
  }
  return { mode: 'isolated', networks };
}
