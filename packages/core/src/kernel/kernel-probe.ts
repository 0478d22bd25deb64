import type { KernelFeature, KernelStep, LinkAddOp, NetnsRef } from '../spi/kernel.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { classifyIpMessage, PERMISSION_HINT } from './kernel-errors.js';
import { runBatch, runTool, type BatchRunnerDeps } from './ip-batch.js';

/**
 * Finds out what this kernel can create without touching the caller's namespace: everything
 * happens inside a throwaway namespace that is deleted again whatever happens.
 */

export type LinkKindFeature = Exclude<KernelFeature, 'nftables'>;
export const LINK_KIND_FEATURES: readonly LinkKindFeature[] = ['veth', 'bridge', 'macvlan', 'ipvlan', 'vlan', 'dummy', 'vxlan'];

export interface ProbeDeps extends BatchRunnerDeps {
  readonly nft: string;
}

let probeCounter = 0;

async function inThrowawayNamespace<T>(deps: ProbeDeps, fn: (ns: NetnsRef & { kind: 'named' }) => Promise<T>): Promise<T> {
  const name = `swyprobe-${process.pid}-${++probeCounter}`;
  const made = await runTool(deps, deps.tools.ip, ['netns', 'add', name]);
  if (made.exitCode !== 0) {
    const permission = /Operation not permitted|Permission denied/i.test(made.stderr);
    throw new SwitchyardError(permission ? 'SWY_ERR_PERMISSION_DENIED' : 'SWY_ERR_KERNEL_OP_FAILED', `Could not create a namespace to probe kernel features in: ${made.stderr.trim()}`, {
      hint: permission ? PERMISSION_HINT : 'Check that /run/netns is writable and iproute2 works.',
    });
  }
  try {
    return await fn({ kind: 'named', name });
  } finally {
    await runTool(deps, deps.tools.ip, ['netns', 'del', name]);
  }
}

/** Probes every link kind with one batch (`-force`, so one missing kind does not hide the others). */
export async function probeLinkKinds(deps: ProbeDeps): Promise<Record<LinkKindFeature, boolean>> {
  return inThrowawayNamespace(deps, async (ns) => {
    // The kinds that need a lower device get the veth made on the first line.
    const ops: Record<LinkKindFeature, LinkAddOp> = {
      veth: { op: 'link.add', kind: 'veth', name: 'p0', peer: { name: 'p1' } },
      bridge: { op: 'link.add', kind: 'bridge', name: 'p2' },
      macvlan: { op: 'link.add', kind: 'macvlan', name: 'p3', parent: 'p0', mode: 'bridge' },
      // p1, not p0: a link that already carries a macvlan refuses an ipvlan (EBUSY).
      ipvlan: { op: 'link.add', kind: 'ipvlan', name: 'p4', parent: 'p1', mode: 'l2', flag: 'bridge' },
      vlan: { op: 'link.add', kind: 'vlan', name: 'p5', parent: 'p0', vlanId: 2 },
      dummy: { op: 'link.add', kind: 'dummy', name: 'p6' },
      vxlan: { op: 'link.add', kind: 'vxlan', name: 'p7', vni: 42 },
    };
    const steps: KernelStep[] = LINK_KIND_FEATURES.map((k) => ({ ns, op: ops[k] }));
    const outcome = await runBatch(deps, ns, steps, { force: true });
    const result = Object.fromEntries(LINK_KIND_FEATURES.map((k) => [k, true])) as Record<LinkKindFeature, boolean>;
    for (const f of outcome.failures) {
      const step = steps[f.index];
      if (!step) continue;
      if (classifyIpMessage(step, f.message) === 'permission') {
        throw new SwitchyardError('SWY_ERR_PERMISSION_DENIED', `Could not probe kernel features: ${f.message}`, { hint: PERMISSION_HINT });
      }
      result[LINK_KIND_FEATURES[f.index] as LinkKindFeature] = false;
    }
    // An aborted batch left the later kinds untried: they count as unavailable.
    if (outcome.abortedAt !== undefined) LINK_KIND_FEATURES.slice(outcome.abortedAt).forEach((k) => (result[k] = false));
    return result;
  });
}

/** nftables works when `nft` runs and can list tables inside a fresh namespace. */
export async function probeNftables(deps: ProbeDeps): Promise<boolean> {
  return inThrowawayNamespace(deps, async (ns) => {
    try {
      const r = await deps.run(deps.tools.nsenter, [`--net=${deps.ctx.netnsDir}/${ns.name}`, deps.nft, 'list', 'tables']);
      return r.exitCode === 0;
    } catch {
      return false; // nft or nsenter not installed
    }
  });
}
