import { EventEmitter } from 'eventemitter3';
import {
  DRIVER_IPAM,
  requireGlobalStore,
  type Collection,
  GLOBAL_COLLECTIONS,
  HOST_NS,
  SwitchyardError,
  silentLogger,
  type SandboxRecord,
  type GlobalEndpoint,
  type GlobalStore,
  type HostRecord,
  type Logger,
  type NetworkRecord,
  type Switchyard,
} from '@switchyard/core';
import { ROUTED_SUBNETS, subnetId, type RoutedSubnet } from '@switchyard/driver-routed';
import { OVERLAY_MEMBERS, memberId, type OverlayMember } from '@switchyard/driver-overlay';
import { desiredForwarding, planForwarding, type ForwardingChanges, type ForwardingState } from './forwarding.js';
import { applyForwarding, readForwarding } from './kernel-forwarding.js';

/** The lease the agent keeps: `HostLease` of `@switchyard/store-etcd`, or a test double. */
export interface AgentLease {
  /** Grants (or takes over) the host's lease and registers the host. */
  start(): Promise<HostRecord>;
  /** Stops renewing; `revoke` ends the lease at once. */
  stop(options?: { revoke?: boolean }): Promise<void>;
  /** Reports a lease that expired while etcd was unreachable. */
  on(event: 'lost', handler: (error: Error) => void): unknown;
}

/** Options of {@link Agent}. */
export interface AgentOptions {
  /** The host's Switchyard instance; it must have a global store. */
  switchyard: Switchyard;
  /** This host's lease. */
  lease: AgentLease;
  /** This host's underlay address (must be one of its addresses). */
  address: string;
  /** Full reconciliation at least this often, in ms, besides every change; default 5000. */
  resyncMs?: number;
  /** Where the agent logs. */
  logger?: Logger;
}

/** What one reconciliation changed. */
export interface ReconcileReport {
  /** Changes made, by kind. */
  counts: ForwardingChanges['counts'];
  /** How many forwarding entries, neighbour entries and routes the stores ask for now. */
  desired: {
    /** Forwarding entries. */
    fdb: number;
    /** Neighbour entries. */
    neigh: number;
    /** Routes. */
    routes: number;
  };
  /** How long the pass took, ms. */
  ms: number;
}

/** Events of an {@link Agent}. */
export interface AgentEvents {
  /** After each reconciliation pass. */
  reconciled: [report: ReconcileReport];
  /** A pass or a lease renewal failed; the agent keeps trying. */
  error: [error: Error];
}

/** Collections whose changes make the agent reconcile. */
const WATCHED = [GLOBAL_COLLECTIONS.endpoints, GLOBAL_COLLECTIONS.hosts, ROUTED_SUBNETS, OVERLAY_MEMBERS] as const;

/**
 * The per-host agent of multi-host networks. It keeps the host's lease (so the host's address blocks,
 * endpoints and subnets stay in the global store), watches the global store, and makes the kernel match
 * it: for every overlay network present on this host, a forwarding entry and a neighbour entry per remote
 * endpoint on the network's VXLAN device (unicast to exactly the host that has it; ARP answered from the
 * neighbour table; no flooding); for every routed network's subnet on another host, a route via that
 * host's underlay address. Each pass compares the kernel with the store and changes only the difference,
 * so a restarted agent re-programs what is missing and removes what is stale without touching endpoints.
 */
export class Agent extends EventEmitter<AgentEvents> {
  private readonly global: GlobalStore;
  private readonly logger: Logger;
  private readonly watches: Array<() => Promise<void>> = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  private stopped = false;
  private host: HostRecord | undefined;
  /** The malformed documents the last pass left out (each is warned about once while it stays, not on every pass). */
  private reported = new Set<string>();

  constructor(private readonly options: AgentOptions) {
    super();
    this.global = requireGlobalStore(options.switchyard.globalStore, 'The agent and the networks it serves');
    this.logger = options.logger ?? silentLogger;
  }

  /** Checks the underlay address, takes the lease, starts the watches and runs a first pass. */
  async start(): Promise<HostRecord> {
    const own = (await this.options.switchyard.kernel.listAddrs(HOST_NS)).map((a) => a.cidr.split('/')[0]);
    if (!own.includes(this.options.address)) {
      throw new SwitchyardError('SWY_ERR_UNDERLAY_INVALID', `${this.options.address} is not an address of this host`, {
        hint: `Give the address other hosts reach this one at (one of: ${own.join(', ') || 'none'}).`,
        details: { address: this.options.address },
      });
    }
    this.options.lease.on('lost', (e) => {
      this.host = undefined;
      this.logger.warn(`host lease lost (${e.message}); registering again`);
      void this.rejoin();
    });
    this.host = await this.options.lease.start();
    await this.republish();
    for (const c of WATCHED) {
      this.watches.push(await this.global.watch(c, { change: () => this.schedule(), resync: () => this.schedule() }));
    }
    this.timer = setInterval(() => this.schedule(), this.options.resyncMs ?? 5000);
    try {
      await this.reconcile();
    } catch (e) {
      // Nothing may keep running (watches, the timer, the lease) when start fails: the caller exits.
      await this.stop();
      throw e;
    }
    return this.host;
  }

  private async rejoin(): Promise<void> {
    while (!this.stopped && !this.host) {
      try {
        this.host = await this.options.lease.start();
        await this.republish();
        this.schedule();
      } catch (e) {
        this.emit('error', e as Error);
        this.logger.warn(`registering again failed: ${(e as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /**
   * Registers again what this host still has, in case its lease expired meanwhile (the agent was down
   * longer than the TTL, or etcd lost the lease): each endpoint's address is claimed back through the
   * network's IPAM (the same owner, the same address; refused when another host took it since, which is
   * reported and leaves that endpoint unregistered), then the overlay memberships and endpoints and the
   * routed subnets are written under the current lease. Idempotent: within the TTL it rewrites what the
   * lease takeover kept.
   */
  async republish(): Promise<string[]> {
    const sy = this.options.switchyard;
    const host = this.host;
    if (!host) return [];
    const networks = (await sy.store.list<NetworkRecord>('networks')).filter((n) => n.driver === 'overlay' || n.driver === 'routed');
    // Endpoints live inside their sandbox's record.
    const endpoints = (await sy.store.list<SandboxRecord>('sandboxes')).flatMap((sb) => sb.endpoints);
    const problems: string[] = [];
    const lost = new Set<string>();
    for (const n of networks) {
      if (!n.ipv4 || n.ipamDriver === DRIVER_IPAM) continue;
      const ipam = await sy.registry.ipam(n.ipamDriver);
      for (const e of endpoints.filter((x) => x.networkId === n.id && x.ipv4)) {
        try {
          await ipam.requestAddress({ poolId: n.ipv4.poolId, owner: { id: e.id, ifname: e.ifname }, address: e.ipv4!.split('/')[0]! });
        } catch (error) {
          lost.add(e.id);
          problems.push(`endpoint ${e.name} (${e.ipv4}) of network ${n.name}: ${(error as Error).message}`);
        }
      }
    }
    const wanted = new Map<string, { collection: Collection; doc: unknown }>();
    for (const n of networks) {
      if (n.driver === 'routed') {
        if (!n.ipv4) continue;
        const doc: RoutedSubnet = { network: n.name, host: host.name, hostAddress: host.address, subnet: n.ipv4.subnet, ...(n.ipv4.gateway ? { gateway: n.ipv4.gateway } : {}) };
        wanted.set(`${ROUTED_SUBNETS} ${subnetId(n.name, host.name)}`, { collection: ROUTED_SUBNETS, doc });
        continue;
      }
      const vni = Number(n.driverState.vni);
      const member: OverlayMember = { network: n.name, host: host.name, hostAddress: host.address, vni };
      wanted.set(`${OVERLAY_MEMBERS} ${memberId(n.name, host.name)}`, { collection: OVERLAY_MEMBERS, doc: member });
      for (const e of endpoints.filter((x) => x.networkId === n.id && !lost.has(x.id))) {
        const doc: GlobalEndpoint = {
          id: e.id,
          network: n.name,
          driver: 'overlay',
          host: host.name,
          hostAddress: host.address,
          ...(e.mac ? { mac: e.mac } : {}),
          ...(e.ipv4 ? { ipv4: e.ipv4 } : {}),
          ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
          data: { vni },
        };
        wanted.set(`${GLOBAL_COLLECTIONS.endpoints} ${e.id}`, { collection: GLOBAL_COLLECTIONS.endpoints, doc });
      }
    }
    const removed = await this.global.transaction(async (tx) => {
      // This host's documents that no longer describe anything here (a connect that crashed half way, a
      // network removed while the store was away) go; the rest are written under the current lease.
      const stale: Array<[Collection, string]> = [];
      for (const e of await tx.list<GlobalEndpoint>(GLOBAL_COLLECTIONS.endpoints)) if (e.host === host.name && !wanted.has(`${GLOBAL_COLLECTIONS.endpoints} ${e.id}`)) stale.push([GLOBAL_COLLECTIONS.endpoints, e.id]);
      for (const m of await tx.list<OverlayMember>(OVERLAY_MEMBERS)) if (m.host === host.name && !wanted.has(`${OVERLAY_MEMBERS} ${memberId(m.network, host.name)}`)) stale.push([OVERLAY_MEMBERS, memberId(m.network, host.name)]);
      for (const r of await tx.list<RoutedSubnet>(ROUTED_SUBNETS)) if (r.host === host.name && !wanted.has(`${ROUTED_SUBNETS} ${subnetId(r.network, host.name)}`)) stale.push([ROUTED_SUBNETS, subnetId(r.network, host.name)]);
      for (const [c, id] of stale) await tx.delete(c, id);
      for (const [key, w] of wanted) await tx.putLeased(w.collection, key.slice(key.indexOf(' ') + 1), w.doc);
      return stale.length;
    });
    if (removed > 0) this.logger.info(`removed ${removed} document(s) of this host that described nothing here any more`);
    for (const p of problems) this.logger.warn(`cannot register again: ${p}; disconnect and connect it again`);
    return problems;
  }

  /** Asks for a pass; passes never overlap, and changes during one cause exactly one more. */
  schedule(): void {
    if (this.stopped) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.dirty) {
        this.dirty = false;
        this.schedule();
      }
    });
  }

  private async pass(): Promise<void> {
    try {
      await this.reconcile();
    } catch (e) {
      this.emit('error', e as Error);
      this.logger.warn(`reconciliation failed: ${(e as Error).message}`);
    }
  }

  /** One pass: desired state from the stores, actual from the kernel, the difference applied. */
  async reconcile(): Promise<ReconcileReport> {
    const t0 = performance.now();
    const me = this.global.hostName;
    const [networks, endpoints, subnets] = await Promise.all([
      this.options.switchyard.store.list<NetworkRecord>('networks'),
      this.global.list<GlobalEndpoint>(GLOBAL_COLLECTIONS.endpoints),
      this.global.list<RoutedSubnet>(ROUTED_SUBNETS),
    ]);
    const vxlanOf = new Map<string, string>();
    for (const n of networks) {
      if (n.driver === 'overlay' && typeof n.driverState.vxlan === 'string') vxlanOf.set(n.name, n.driverState.vxlan);
    }
    const malformed = new Set<string>();
    const desired = desiredForwarding({ me, vxlanOf, endpoints, subnets }, (key, reason) => void malformed.add(`${key}: ${reason}`));
    for (const line of malformed) if (!this.reported.has(line)) this.logger.warn(`ignoring a malformed document, ${line}`);
    // Only what is still there is remembered: the set is as large as the malformed documents of now.
    this.reported = malformed;
    const actual: ForwardingState = await readForwarding([...vxlanOf.values()]);
    const changes = planForwarding(desired, actual);
    await applyForwarding(changes);
    const report: ReconcileReport = { counts: changes.counts, desired: { fdb: desired.fdb.size, neigh: desired.neigh.size, routes: desired.routes.size }, ms: performance.now() - t0 };
    const changed = Object.values(changes.counts).some((n) => n > 0);
    if (changed) this.logger.info(`reconciled: ${JSON.stringify(changes.counts)}`);
    this.emit('reconciled', report);
    return report;
  }

  /** Stops watching and renewing. `leave: true` revokes the lease: the host's objects leave the cluster at once. */
  async stop(options: { leave?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watches.splice(0)) await w();
    await this.running;
    await this.options.lease.stop({ revoke: options.leave === true });
  }
}
