import {
  SwitchyardError,
  stripPrefix,
  requireGlobalStore,
  detailValue,
  quoteValue,
  type AddressOwner,
  type AddressRequest,
  type AddressResponse,
  type GlobalStore,
  type IpamDriver,
  type IpFamily,
  type PoolRequest,
  type PoolResponse,
} from '@switchyard/core';
import { BLOCKS_COLLECTION, MEMBERS_COLLECTION, POOLS_COLLECTION, blockIdOf, memberIdOf, poolIdOf, type BlockDoc, type MemberDoc, type PoolDoc } from './documents.js';
import { formatAddress, formatNet, netContains, parseAddressValue } from './cidr.js';
import { BlockTx, NeedListing, callError, isCallError } from './block-tx.js';
import { CommitLane, type Pending } from './commit-lane.js';
import { PoolView } from './pool-view.js';
import { checkAdoption, newPoolDoc, parsePoolRequest, type PoolSpec } from './pool-request.js';

/** Settings of a {@link GlobalIpam}. */
export interface GlobalIpamOptions {
  /** The cluster's store (the plugin's `deps.globalStore`); without one every call throws SWY_ERR_GLOBAL_STORE_MISSING. */
  globalStore?: GlobalStore | undefined;
  /**
   * Most address requests and releases one transaction carries (default 64). etcd refuses transactions of
   * more than `--max-txn-ops` (128) operations; a batch touches about one block per 64 requests, but
   * releases may touch one block each.
   */
  maxBatch?: number;
}

/** An address call queued for a group commit. */
type AddressCall = { kind: 'address'; request: AddressRequest; requested?: { family: IpFamily; value: bigint } } | { kind: 'release'; family: IpFamily; value: bigint } | { kind: 'releaseOwner'; owner: AddressOwner };

type Outcome = { ok: AddressResponse | undefined } | { error: unknown };

/** Listings of a pool's blocks before giving up (one normally suffices). */
const MAX_LISTINGS = 3;

function assertOwner(owner: AddressOwner): void {
  if (typeof owner?.id !== 'string' || owner.id === '' || typeof owner.ifname !== 'string' || owner.ifname === '' || owner.ifname.length > 15) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Owner ${quoteValue(owner?.id)} / ${quoteValue(owner?.ifname)} cannot hold an address.`, {
      hint: 'Give a non-empty owner id and an interface name of 1-15 characters, e.g. eth0.',
      details: { id: detailValue(owner?.id), ifname: detailValue(owner?.ifname) },
    });
  }
}

function assertPoolId(poolId: unknown): asserts poolId is string {
  if (typeof poolId !== 'string' || poolId === '') {
    throw new SwitchyardError('SWY_ERR_POOL_NOT_FOUND', `${quoteValue(poolId)} is not a global pool id.`, { hint: 'Pass the poolId requestPool returned.' });
  }
}

function tooManyListings(poolId: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_GLOBAL_STORE_CONFLICT', `The blocks of global pool ${poolId} kept changing while this host looked for a free one.`, {
    hint: 'Other hosts are claiming blocks of the pool right now; try again.',
    details: { poolId },
  });
}

/**
 * The `global` IPAM: pools shared by every host of a cluster, kept in the global store and handed out in
 * blocks (Calico's design). A host claims a block of the pool (a compare-and-swap on the block's document,
 * bound to its lease) and allocates addresses from its own blocks only, so hosts never contend on an
 * address; when its lease expires, its blocks and their addresses return to the pool. In `host-subnet`
 * mode (flannel host-gw) a host holds exactly one block, which is the subnet of its bridge.
 *
 * Within one process, calls of a pool queue up and group-commit: every call waiting when a transaction
 * starts goes into the next one, with one read and one write per block it touches.
 */
export class GlobalIpam implements IpamDriver {
  /** The IPAM name networks select. */
  readonly name = 'global';
  private readonly store: GlobalStore | undefined;
  private readonly maxBatch: number;
  private readonly views = new Map<string, PoolView>();
  private readonly lanes = new Map<string, CommitLane<AddressCall, AddressResponse | undefined>>();

  constructor(options: GlobalIpamOptions = {}) {
    this.store = options.globalStore;
    this.maxBatch = Math.max(1, options.maxBatch ?? 64);
  }

  private requireStore(): GlobalStore {
    return requireGlobalStore(this.store, 'Global IPAM pools');
  }

  private lane(store: GlobalStore, poolId: string): CommitLane<AddressCall, AddressResponse | undefined> {
    let lane = this.lanes.get(poolId);
    if (!lane) this.lanes.set(poolId, (lane = new CommitLane((batch) => this.commit(store, poolId, batch), this.maxBatch)));
    return lane;
  }

  private async listBlocks(store: GlobalStore, poolId: string): Promise<BlockDoc[]> {
    return (await store.list<BlockDoc>(BLOCKS_COLLECTION)).filter((b) => b.pool === poolId);
  }

  /**
   * Joins this host to the network's cluster-wide pool of the family, creating the pool when it is the
   * first host (the subnet asked for, or the first free 10.200-255.0.0/16). In `host-subnet` mode the host
   * also claims its block (or keeps the one it has), which is the subnet and gateway returned.
   */
  async requestPool(request: PoolRequest): Promise<PoolResponse> {
    const store = this.requireStore();
    const spec = parsePoolRequest(request);
    return this.lane(store, spec.poolId).exclusive(() => this.joinPool(store, spec));
  }

  private async joinPool(store: GlobalStore, spec: PoolSpec): Promise<PoolResponse> {
    const host = store.hostName;
    // A host-subnet pool needs the blocks listed; one adopted without naming its mode asks for it (NeedListing).
    let listing = spec.mode === 'host-subnet' ? await this.listBlocks(store, spec.poolId) : undefined;
    for (let listings = 0; ; listings++) {
      try {
        const { response, view, observed } = await store.transaction(async (tx) => {
          // No lease, no membership: putLeased below refuses with SWY_ERR_HOST_NOT_JOINED and nothing is written.
          let doc = await tx.get<PoolDoc>(POOLS_COLLECTION, spec.poolId);
          if (doc) checkAdoption(doc, spec);
          else {
            doc = newPoolDoc(spec, await tx.list<PoolDoc>(POOLS_COLLECTION));
            await tx.put(POOLS_COLLECTION, spec.poolId, doc);
          }
          await tx.putLeased<MemberDoc>(MEMBERS_COLLECTION, memberIdOf(spec.poolId, host), { pool: spec.poolId, host });
          const view = new PoolView(spec.poolId, doc, host);
          if (listing) view.resetFrom(listing);
          if (!view.hostSubnet) return { response: { poolId: spec.poolId, subnet: doc.subnet, ...(doc.gateway === undefined ? {} : { gateway: doc.gateway }) }, view, observed: [] };
          // host-subnet: this host's one block, kept or claimed.
          if (!listing) throw new NeedListing();
          const work = new BlockTx(tx, view, true);
          work.memberWritten();
          let block = null;
          for (const { id, net } of work.mineIds()) {
            const wb = await work.load(id, net);
            if (wb?.doc.host === host) {
              block = wb;
              break;
            }
          }
          block ??= await work.claimNext();
          if (!block) {
            throw new SwitchyardError('SWY_ERR_POOL_EXHAUSTED', `Every /${doc.blockPrefix} of global pool ${doc.subnet} (network ${doc.network}) is held by another host.`, {
              hint: 'Remove hosts that left the cluster (their leases expire), or re-create the network with a larger subnet or a longer blockPrefix.',
              details: { poolId: spec.poolId, subnet: doc.subnet, blockPrefix: doc.blockPrefix },
            });
          }
          await work.flush();
          const gateway = view.gatewayFor(block.net);
          return { response: { poolId: spec.poolId, subnet: formatNet(block.net), ...(gateway === undefined ? {} : { gateway }) }, view, observed: work.observed() };
        });
        // Keep what this process knows of the pool's blocks when the pool is the one it already had.
        const cached = this.views.get(spec.poolId);
        if (!cached || observed.length > 0 || JSON.stringify(cached.doc) !== JSON.stringify(view.doc)) {
          for (const [id, doc] of observed) view.observe(id, doc);
          this.views.set(spec.poolId, view);
        }
        return response;
      } catch (e) {
        if (!(e instanceof NeedListing)) throw e;
        if (listings >= MAX_LISTINGS) throw tooManyListings(spec.poolId);
        listing = await this.listBlocks(store, spec.poolId);
      }
    }
  }

  /** A network's pool is named after the network and family (`web.v4`), the same on every host. */
  poolIdFor(request: Pick<PoolRequest, 'networkId' | 'networkName' | 'family'>): string {
    return poolIdOf(request.networkName, request.family);
  }

  /**
   * Leaves the pool: deletes this host's blocks (their addresses with them) and membership, and the pool
   * itself when no other host is a member or holds a block. Succeeds when it is already gone.
   */
  async releasePool(poolId: string): Promise<void> {
    const store = this.requireStore();
    assertPoolId(poolId);
    const host = store.hostName;
    await this.lane(store, poolId).exclusive(async () => {
      await store.transaction(async (tx) => {
        const blocks = (await tx.list<BlockDoc>(BLOCKS_COLLECTION)).filter((b) => b.pool === poolId);
        for (const b of blocks) if (b.host === host) await tx.delete(BLOCKS_COLLECTION, blockIdOf(poolId, stripPrefix(b.cidr)));
        await tx.delete(MEMBERS_COLLECTION, memberIdOf(poolId, host));
        const members = (await tx.list<MemberDoc>(MEMBERS_COLLECTION)).filter((m) => m.pool === poolId && m.host !== host);
        if (members.length === 0 && !blocks.some((b) => b.host !== host)) await tx.delete(POOLS_COLLECTION, poolId);
      });
      this.views.delete(poolId);
    });
  }

  /**
   * Hands out the lowest free address of this host's blocks (claiming a free block when they are full), or
   * the address asked for (its block must be this host's or free). Throws SWY_ERR_POOL_EXHAUSTED,
   * SWY_ERR_ADDRESS_IN_USE, SWY_ERR_ADDRESS_OUT_OF_RANGE or SWY_ERR_POOL_NOT_FOUND.
   */
  async requestAddress(request: AddressRequest): Promise<AddressResponse> {
    const store = this.requireStore();
    assertPoolId(request?.poolId);
    assertOwner(request.owner);
    const requested = request.address === undefined ? undefined : parseAddressValue(request.address, 'requested address');
    const got = await this.lane(store, request.poolId).submit({ kind: 'address', request, ...(requested ? { requested } : {}) });
    return got!;
  }

  /** Frees an address of this host's blocks (with or without prefix); succeeds when it is free or not this host's. */
  async releaseAddress(poolId: string, address: string): Promise<void> {
    const store = this.requireStore();
    assertPoolId(poolId);
    const a = parseAddressValue(address, 'address');
    await this.lane(store, poolId).submit({ kind: 'release', ...a });
  }

  /** Frees the address an owner holds in this host's blocks; succeeds when it holds none. */
  async releaseOwner(poolId: string, owner: AddressOwner): Promise<void> {
    const store = this.requireStore();
    assertPoolId(poolId);
    assertOwner(owner);
    await this.lane(store, poolId).submit({ kind: 'releaseOwner', owner });
  }

  /** One group commit: every call of the batch in one transaction; each call succeeds or fails on its own. */
  private async commit(store: GlobalStore, poolId: string, batch: Array<Pending<AddressCall, AddressResponse | undefined>>): Promise<void> {
    let view = this.views.get(poolId);
    if (!view) {
      const doc = await store.get<PoolDoc>(POOLS_COLLECTION, poolId);
      if (!doc) {
        for (const p of batch) {
          if (p.op.kind !== 'address') p.resolve(undefined);
          else p.reject(new SwitchyardError('SWY_ERR_POOL_NOT_FOUND', `Global pool ${poolId} does not exist in the cluster.`, { hint: 'Create the network (requestPool) on this host first.', details: { poolId } }));
        }
        return;
      }
      view = new PoolView(poolId, doc, store.hostName);
      this.views.set(poolId, view);
    }
    const v = view;
    // No listing up front (a process of the CLI makes one batch): this host's blocks are found by probing from
    // its starting block, and what needs the whole picture asks for a listing (NeedListing).
    let fresh = false;
    for (let listings = 0; ; listings++) {
      try {
        const { outcomes, observed } = await store.transaction(async (tx) => {
          const work = new BlockTx(tx, v, fresh);
          const outcomes: Outcome[] = [];
          for (const p of batch) {
            try {
              outcomes.push({ ok: await this.apply(work, p.op) });
            } catch (e) {
              if (!isCallError(e)) throw e;
              outcomes.push({ error: e });
            }
          }
          await work.flush();
          return { outcomes, observed: work.observed() };
        });
        for (const [id, doc] of observed) v.observe(id, doc);
        outcomes.forEach((o, i) => ('error' in o ? batch[i]!.reject(o.error) : batch[i]!.resolve(o.ok)));
        return;
      } catch (e) {
        if (!(e instanceof NeedListing)) throw e;
        if (listings >= MAX_LISTINGS) throw tooManyListings(poolId);
        v.resetFrom(await this.listBlocks(store, poolId));
        fresh = true;
      }
    }
  }

  private async apply(work: BlockTx, call: AddressCall): Promise<AddressResponse | undefined> {
    const view = work.view;
    switch (call.kind) {
      case 'release': {
        if (!netContains(view.subnet, call.family, call.value)) return undefined;
        const net = view.blockNetOf(call.value);
        const wb = await work.load(view.blockId(net), net);
        if (wb && wb.doc.host === view.host) work.free(wb, call.value);
        return undefined;
      }
      case 'releaseOwner': {
        const held = await work.findOwner(call.owner);
        if (held) work.free(held.wb, held.value);
        return undefined;
      }
      case 'address':
        return call.requested ? this.allocateRequested(work, call.request, call.requested) : this.allocateNext(work, call.request);
    }
  }

  private async allocateNext(work: BlockTx, request: AddressRequest): Promise<AddressResponse> {
    const view = work.view;
    if (!request.newOwner) {
      const held = await work.findOwner(request.owner);
      if (held) return view.response(held.wb.net, held.value);
    }
    let found = await work.freeInMine();
    if (!found && view.hostSubnet && !work.fresh && work.mineIds().length === 0) {
      // A process that has not seen this host's block yet: where the host's claim found it, or a listing.
      const own = await work.probeOwn();
      if (!own) throw new NeedListing();
      const value = work.lowestFree(own);
      if (value !== undefined) found = { wb: own, value };
    }
    if (!found) {
      const mine = work.mineIds();
      if (view.hostSubnet && mine.length > 0) {
        const subnet = formatNet(mine[0]!.net);
        throw callError('SWY_ERR_POOL_EXHAUSTED', `No free address left in this host's subnet ${subnet} of global pool ${view.doc.subnet} (network ${view.doc.network}).`, {
          hint: 'Remove endpoints that are no longer used on this host, or re-create the network with a shorter blockPrefix.',
          details: { poolId: view.poolId, subnet },
        });
      }
      // A host-subnet host without its block (its lease expired since) claims one again, knowing every block.
      if (view.hostSubnet && !work.fresh) throw new NeedListing();
      const wb = await work.claimNext();
      const value = wb ? work.lowestFree(wb) : undefined;
      if (!wb || value === undefined) {
        throw callError(
          'SWY_ERR_POOL_EXHAUSTED',
          `No free address left for host ${view.host} in global pool ${view.doc.subnet} (network ${view.doc.network}): its blocks are full and every other /${view.doc.blockPrefix} is held by another host.`,
          {
            hint: 'Remove endpoints that are no longer used, or re-create the network with a larger subnet.',
            details: { poolId: view.poolId, subnet: view.doc.subnet, host: view.host },
          },
        );
      }
      found = { wb, value };
    }
    work.take(found.wb, found.value, request.owner);
    return view.response(found.wb.net, found.value);
  }

  private async allocateRequested(work: BlockTx, request: AddressRequest, requested: { family: IpFamily; value: bigint }): Promise<AddressResponse> {
    const view = work.view;
    const { value } = requested;
    const text = formatAddress(requested.family, value);
    const label = `global pool ${view.doc.subnet} (network ${view.doc.network})`;
    if (!netContains(view.subnet, requested.family, value)) {
      throw callError('SWY_ERR_ADDRESS_OUT_OF_RANGE', `Requested address ${text} is outside ${label}.`, {
        hint: `Ask for an address inside ${view.doc.subnet}, or leave it out.`,
        details: { address: text, subnet: view.doc.subnet },
      });
    }
    const net = view.blockNetOf(value);
    const why = view.reserved(net).get(value);
    if (why === 'gateway')
      throw callError('SWY_ERR_ADDRESS_IN_USE', `Requested address ${text} is the gateway of ${label}.`, { hint: 'The gateway is never handed to an endpoint; ask for another address.', details: { address: text } });
    if (why)
      throw callError('SWY_ERR_ADDRESS_OUT_OF_RANGE', `Requested address ${text} is the ${why} address of ${view.hostSubnet ? `block ${formatNet(net)}` : label}.`, { hint: 'Ask for a host address.', details: { address: text } });
    const held = request.newOwner ? undefined : await work.findOwner(request.owner);
    if (held && held.value !== value) {
      const holds = formatAddress(requested.family, held.value);
      throw callError('SWY_ERR_ADDRESS_IN_USE', `${request.owner.id} (${request.owner.ifname}) already holds ${holds} in ${label}, so it cannot also take ${text}.`, {
        hint: 'An owner gets one address per pool; release the one it holds first.',
        details: { address: text, held: holds },
      });
    }
    if (held) return view.response(held.wb.net, value);
    let wb = await work.load(view.blockId(net), net);
    if (wb && wb.doc.host !== view.host) {
      throw callError('SWY_ERR_ADDRESS_IN_USE', `Requested address ${text} lies in block ${wb.doc.cidr} of ${label}, which host ${wb.doc.host} holds.`, {
        hint: `Ask for an address in one of this host's blocks or in a free block, or on host ${wb.doc.host}.`,
        details: { address: text, block: wb.doc.cidr, host: wb.doc.host },
      });
    }
    if (!wb) {
      if (view.hostSubnet) {
        const own = work.mineIds()[0];
        throw callError('SWY_ERR_ADDRESS_OUT_OF_RANGE', `Requested address ${text} is outside this host's subnet${own ? ` ${formatNet(own.net)}` : ''} of ${label}.`, {
          hint: 'In host-subnet mode a host hands out addresses of its own subnet only.',
          details: { address: text },
        });
      }
      // claim() refuses only another host's block, which the check above has already turned away.
      wb = (await work.claim(net))!;
    }
    const holder = wb.doc.allocations[text];
    if (holder && (holder.id !== request.owner.id || holder.ifname !== request.owner.ifname)) {
      throw callError('SWY_ERR_ADDRESS_IN_USE', `Requested address ${text} is already held by ${holder.id} (${holder.ifname}) in ${label}.`, {
        hint: 'Ask for another address, or release it from its holder first.',
        details: { address: text, holder },
      });
    }
    if (!holder) work.take(wb, value, request.owner);
    return view.response(wb.net, value);
  }
}
