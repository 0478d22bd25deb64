import type { SandboxRecord } from '../model/types.js';
import type { Logger } from '../registry/logger.js';
import { stillSameNamespace } from '../sandbox/netns-identity.js';
import { HOST_NS, type Kernel, type KernelStep, type NetnsRef } from '../spi/kernel.js';
import type { LockScope, StateStore } from '../spi/state-store.js';
import { nsKey } from '../kernel/describe-step.js';
import type { Intent } from './intents.js';
import { faultPoint } from '../util/fault-points.js';

/**
 * The link group retired endpoint links are put in. Deleting a link costs the kernel an RCU grace
 * period (16–22 ms for a veth pair); deleting a whole group costs about what one link does. A
 * disconnect therefore retires its links (down, renamed, in this group: no traffic, no name, no
 * route) and commits, and the links are deleted later in one call per namespace. Nothing else
 * Switchyard makes is ever in this group, so deleting it whole is always safe.
 */
export const RETIRED_LINK_GROUP = 0x5357; // "SW"

/** The name a retired sandbox-side link takes, freeing its interface name at once (unique per endpoint). */
export function retiredLinkName(endpointId: string): string {
  return `swyr${endpointId.slice(0, 10)}`;
}

/**
 * The record of retired links not yet deleted (an intent, so a crash leaves it for recovery).
 *
 * @useDeclaredType
 */
export type RetireIntent = Extract<Intent, { kind: 'retire' }>;

/** The lock flushes and recovery of retire records take (they touch nothing else). */
export const RETIRE_SCOPE: LockScope = { exclusive: ['links:retired'] };

/**
 * The kernel steps that retire an endpoint's sandbox end: it goes down (its routes go with it) and
 * loses its addresses, then takes a retired name and the retired group. Every step tolerates a link
 * or address that is already gone.
 */
export function retireSandboxEnd(sandboxNs: NetnsRef, ifname: string, endpointId: string, addresses: readonly string[]): KernelStep[] {
  return [
    // Down first: the kernel renames only a link that is down.
    { ns: sandboxNs, op: { op: 'link.set', name: ifname, up: false, ifExists: true } },
    ...addresses.map((cidr): KernelStep => ({ ns: sandboxNs, op: { op: 'addr.del', dev: ifname, cidr, ifExists: true } })),
    { ns: sandboxNs, op: { op: 'link.set', name: ifname, newName: retiredLinkName(endpointId), group: RETIRED_LINK_GROUP, ifExists: true } },
  ];
}

/**
 * The kernel steps that retire a driver's host-side links (a veth pair's host end): down, off their
 * bridge (so a retired port never counts against its 1023), into the retired group, so one group
 * delete in the host namespace removes every retired pair. A link already gone is fine.
 */
export function retireHostLinks(hostLinks: readonly string[]): KernelStep[] {
  return hostLinks.map((name) => ({ ns: HOST_NS, op: { op: 'link.set', name, up: false, master: null, group: RETIRED_LINK_GROUP, ifExists: true } }));
}

/** What {@link deleteRetiredLinks} needs to delete the retired links on the host (which take their veth peers along). */
export const RETIRED_ON_HOST: Pick<RetireIntent, 'netns' | 'inHost'> = Object.freeze({ netns: HOST_NS, inHost: true });

/** The retire record of one disconnect: which namespaces hold its retired links. */
export function retireIntent(id: string, sandbox: SandboxRecord, hostLinks: readonly string[]): RetireIntent {
  return {
    kind: 'retire',
    id,
    sandboxName: sandbox.name,
    netns: sandbox.netns,
    ...(sandbox.netnsIdentity ? { netnsIdentity: sandbox.netnsIdentity } : {}),
    // With a host end in the group, deleting the group on the host takes the whole pair along.
    inHost: hostLinks.length > 0,
    at: new Date().toISOString(),
  };
}

/** Tuning of deferred deletion. */
export interface RetirementOptions {
  /** How long a retired link may wait for company before its batch is deleted (ms). */
  readonly delayMs: number;
  /** A batch this large is deleted at once. */
  readonly maxBatch: number;
}

const DEFAULTS: RetirementOptions = { delayMs: 50, maxBatch: 64 };

/**
 * Deletes retired links in batches: shortly after the last disconnect, when enough are waiting, on
 * `settle()` and on close. Each batch is one group delete in the host namespace (veth pairs) plus
 * one in each sandbox namespace that holds a retired link with no host end (macvlan, ipvlan). The
 * retire records go only after the links did; whatever a crash leaves, the next process's recovery
 * (or `gc`) deletes. Never throws: a failed batch is logged and left to recovery.
 */
export class LinkRetirement {
  private readonly pending = new Map<string, RetireIntent>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly tuning: RetirementOptions;

  constructor(
    private readonly kernel: Kernel,
    private readonly store: StateStore,
    private readonly logger: Logger,
    tuning: Partial<RetirementOptions> = {},
  ) {
    this.tuning = { ...DEFAULTS, ...tuning };
  }

  /** Records a committed disconnect's retired links for the next batch. */
  retired(intent: RetireIntent): void {
    this.pending.set(intent.id, intent);
    if (this.pending.size >= this.tuning.maxBatch) {
      void this.settle();
      return;
    }
    if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.settle(), this.tuning.delayMs);
      // A process that ends without close() leaves its records to the next one's recovery.
      this.timer.unref();
    }
  }

  /** Deletes every retired link this instance knows of now, waiting for a batch already running. */
  async settle(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running !== undefined) await this.running;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    this.running = this.flush(batch).finally(() => (this.running = undefined));
    await this.running;
  }

  private async flush(batch: readonly RetireIntent[]): Promise<void> {
    try {
      await deleteRetiredLinks(this.kernel, batch);
      faultPoint('disconnect:batch-deleted');
      await this.store.transaction(async (tx) => {
        for (const intent of batch) await tx.delete('intents', intent.id);
      }, RETIRE_SCOPE);
    } catch (error) {
      this.logger.warn(`deleting ${batch.length} retired link(s) failed; the next start or \`switchyard gc\` retries`, { error: String(error) });
    }
  }
}

/**
 * Deletes the retired links of these records: one group delete in the host namespace when any has a
 * host end, one in each sandbox namespace that still exists and is still the one the sandbox adopted.
 * An empty group is no failure. Throws when a group delete the kernel should have done failed.
 */
export async function deleteRetiredLinks(kernel: Kernel, records: ReadonlyArray<Pick<RetireIntent, 'netns' | 'netnsIdentity' | 'inHost'>>): Promise<void> {
  const group = { op: 'group.del' as const, group: RETIRED_LINK_GROUP };
  if (records.some((r) => r.inHost)) await kernel.apply([{ ns: HOST_NS, op: group }]);
  const seen = new Set<string>();
  for (const r of records) {
    if (r.inHost) continue;
    const key = nsKey(r.netns);
    if (seen.has(key)) continue;
    seen.add(key);
    if (!stillSameNamespace(r) || !(await kernel.netnsExists(r.netns))) continue;
    await kernel.apply([{ ns: r.netns, op: group }]);
  }
}
