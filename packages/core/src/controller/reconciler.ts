import { readFileSync } from 'node:fs';
import type { NetworkRecord, SandboxRecord } from '../model/types.js';
import type { Logger } from '../registry/logger.js';
import { stillSameNamespace } from '../sandbox/netns-identity.js';
import { HOST_NS, type Kernel } from '../spi/kernel.js';
import type { StoreTx } from '../spi/state-store.js';
import type { DriverEndpoint, NetworkPlan } from '../spi/network-driver.js';
import { driverNetwork, type DriverSource } from './driver-views.js';
import type { EndpointLifecycle } from './endpoint-lifecycle.js';
import { RETIRED_LINK_GROUP, RETIRED_ON_HOST, deleteRetiredLinks } from './link-retirement.js';

/** Label `switchyard run` puts on its sandbox: `<pid>:<start time>` of the process that owns it. */
export const RUN_OWNER_LABEL = 'switchyard.run.owner';

/** The value of RUN_OWNER_LABEL for a process (this one by default). */
export function runOwnerLabel(pid: number = process.pid): string {
  return `${pid}:${processStartTime(pid) ?? '?'}`;
}

/** Whether the process a RUN_OWNER_LABEL names still runs (same PID and start time: a reused PID is another process). */
export function runOwnerAlive(label: string): boolean {
  const m = /^(\d+):(\d+|\?)$/.exec(label);
  if (!m) return true; // Not ours to judge.
  const started = processStartTime(Number(m[1]));
  return started !== undefined && (m[2] === '?' || started === m[2]);
}

function processStartTime(pid: number): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat, counted after the command name (which may hold spaces and parentheses).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** One thing gc did, or would do under --dry-run. */
export interface GcAction {
  /** What kind of repair it is. */
  kind: 'recover-intent' | 'remove-sandbox' | 'restore-network' | 'remove-link' | 'restore-firewall' | 'program-external';
  /** The sandbox, network, link or intent acted on. */
  target: string;
  /** Why, in words (what was found missing or left over). */
  reason: string;
  /** False under --dry-run, and when the action failed (then `error` says why). */
  done: boolean;
  /** The failure's message, when the action failed. */
  error?: string;
}

/** What a garbage-collection run found and did. */
export interface GcReport {
  /** True when nothing was changed (`--dry-run`): the actions are what would be done. */
  dryRun: boolean;
  /** Every action, in the order taken. */
  actions: GcAction[];
}

/**
 * Compares the store with the kernel: what is stale (for `ls` and `inspect`), and what `gc` repairs.
 * Sandboxes whose namespace or owning `run` process is gone are removed with their addresses; networks
 * whose kernel objects vanished get them back; host links a driver made for endpoints that no longer
 * exist go. Allocations in IPAM files are released only through the endpoints that own them: host-local's
 * directory may be shared with CNI, whose owners Switchyard cannot tell from stale ones.
 */
export class Reconciler {
  constructor(
    private readonly kernel: Kernel,
    private readonly drivers: DriverSource,
    private readonly endpoints: EndpointLifecycle,
    private readonly logger: Logger,
  ) {}

  /** Why a sandbox is stale, or undefined when it is fine. */
  async sandboxStaleness(sandbox: SandboxRecord): Promise<string | undefined> {
    const owner = sandbox.labels[RUN_OWNER_LABEL];
    if (owner !== undefined && !runOwnerAlive(owner)) return `the switchyard run that owned it (pid ${owner.split(':')[0]}) has exited`;
    if (sandbox.mode !== 'isolated') return undefined;
    if (!stillSameNamespace(sandbox)) return 'its namespace path now leads to another namespace (the process exited)';
    if (!(await this.kernel.netnsExists(sandbox.netns))) return 'its network namespace is gone';
    return undefined;
  }

  /** What a network is missing in the kernel (its driver's words) and the plan that restores it; no steps when healthy or when the driver cannot tell. */
  async networkRepair(network: NetworkRecord, sandboxes: readonly SandboxRecord[]): Promise<NetworkPlan> {
    const driver = await this.drivers.driver(network.driver);
    if (!driver.restoreNetwork) return { steps: [] };
    const endpoints: DriverEndpoint[] = sandboxes.flatMap((s) => s.endpoints.filter((e) => e.networkId === network.id).map((e) => ({ id: e.id, ifname: e.ifname, state: e.driverState })));
    return driver.restoreNetwork(driverNetwork(network), endpoints);
  }

  /** Brings a network's missing kernel objects back; returns what was missing (empty when nothing was). */
  async restoreNetwork(network: NetworkRecord, sandboxes: readonly SandboxRecord[]): Promise<string[]> {
    const plan = await this.networkRepair(network, sandboxes);
    if (plan.steps.length === 0) return [];
    await this.kernel.apply(plan.steps.map((op) => ({ ns: HOST_NS, op })));
    return plan.notes ?? ['kernel objects were missing'];
  }

  /** Runs gc inside a transaction that holds every lock (no operation is in flight), after intents are recovered. */
  async collect(tx: StoreTx, dryRun: boolean): Promise<GcAction[]> {
    const actions: GcAction[] = [];
    const act = async (action: Omit<GcAction, 'done'>, run: () => Promise<unknown>): Promise<boolean> => {
      if (dryRun) {
        actions.push({ ...action, done: false });
        return false;
      }
      try {
        await run();
        actions.push({ ...action, done: true });
        return true;
      } catch (error) {
        this.logger.warn(`gc: ${action.kind} ${action.target} failed`, { error: String(error) });
        actions.push({ ...action, done: false, error: error instanceof Error ? error.message : String(error) });
        return false;
      }
    };

    const networks = await tx.list<NetworkRecord>('networks');
    const byName = new Map(networks.map((n) => [n.name, n]));
    let sandboxes = await tx.list<SandboxRecord>('sandboxes');
    const removed = new Set<string>();
    for (const sandbox of sandboxes) {
      const reason = await this.sandboxStaleness(sandbox);
      if (reason === undefined) continue;
      const gone = await act({ kind: 'remove-sandbox', target: sandbox.name, reason }, async () => {
        const on = new Map(sandbox.endpoints.flatMap((e) => (byName.has(e.networkName) ? [[e.networkName, byName.get(e.networkName) as NetworkRecord] as const] : [])));
        await this.endpoints.teardownSandbox(sandbox, on);
        await tx.delete('sandboxes', sandbox.name);
      });
      if (gone || dryRun) removed.add(sandbox.id);
    }
    sandboxes = sandboxes.filter((s) => !removed.has(s.id));

    for (const network of networks) {
      const plan = await this.networkRepair(network, sandboxes);
      if (plan.steps.length === 0) continue;
      await act({ kind: 'restore-network', target: network.name, reason: (plan.notes ?? ['kernel objects are missing']).join('; ') }, () => this.kernel.apply(plan.steps.map((op) => ({ ns: HOST_NS, op }))));
    }

    const endpointIds = sandboxes.flatMap((s) => s.endpoints.map((e) => e.id));
    const drivers = await Promise.all([...new Set(networks.map((n) => n.driver))].map((t) => this.drivers.driver(t)));
    const hostLinks = await this.kernel.listLinks(HOST_NS);
    // Links disconnects retired (their batch delete has not run, or its process died first) go in one call.
    const retired = hostLinks.filter((l) => l.group === RETIRED_LINK_GROUP);
    if (retired.length > 0) {
      await act({ kind: 'remove-link', target: `${retired.length} retired link(s) (group ${RETIRED_LINK_GROUP})`, reason: 'links retired by disconnects, waiting for their batch delete' }, () =>
        deleteRetiredLinks(this.kernel, [RETIRED_ON_HOST]),
      );
    }
    for (const link of hostLinks) {
      if (link.group === RETIRED_LINK_GROUP) continue;
      for (const driver of drivers) {
        const prefix = driver.endpointOfHostLink?.(link.name);
        if (prefix === undefined || endpointIds.some((id) => id.startsWith(prefix))) continue;
        await act({ kind: 'remove-link', target: link.name, reason: `a ${driver.type} endpoint link whose endpoint no longer exists` }, () =>
          this.kernel.apply([{ ns: HOST_NS, op: { op: 'link.del', name: link.name, ifExists: true } }]),
        );
        break;
      }
    }

    // Attaching drivers (CNI plugins) release what they hold for endpoints that no longer exist. They cannot
    // say what they would remove without removing it, so a dry run skips them.
    if (!dryRun) {
      for (const network of networks) {
        const driver = await this.drivers.driver(network.driver);
        if (!driver.collectEndpoints) continue;
        const live: DriverEndpoint[] = sandboxes.flatMap((s) => s.endpoints.filter((e) => e.networkId === network.id).map((e) => ({ id: e.id, ifname: e.ifname, state: e.driverState })));
        const reason = `a ${driver.type} attachment on network ${network.name} whose endpoint no longer exists`;
        try {
          for (const target of await driver.collectEndpoints(driverNetwork(network), live)) actions.push({ kind: 'remove-link', target, reason, done: true });
        } catch (error) {
          this.logger.warn(`gc: collecting ${network.name}'s stale attachments failed`, { error: String(error) });
          actions.push({ kind: 'remove-link', target: `attachments of ${network.name}`, reason, done: false, error: error instanceof Error ? error.message : String(error) });
        }
      }
    }

    // Drivers that program external connectivity hear again about every endpoint that needs it (idempotent):
    // a reboot takes what they programmed along. Only a failure is reported; a repeat that changes nothing is not news.
    if (!dryRun) {
      for (const sandbox of sandboxes) {
        for (const endpoint of sandbox.endpoints) {
          const network = byName.get(endpoint.networkName);
          if (!network) continue;
          try {
            await this.endpoints.programExternal(network, endpoint);
          } catch (error) {
            this.logger.warn(`gc: program-external ${endpoint.name} failed`, { error: String(error) });
            actions.push({ kind: 'program-external', target: endpoint.name, reason: 'its driver programs external connectivity', done: false, error: error instanceof Error ? error.message : String(error) });
          }
        }
      }
    }
    return actions;
  }
}
