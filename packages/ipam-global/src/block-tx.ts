import { SwitchyardError, type AddressOwner, type GlobalStoreTx } from '@switchyard/core';
import { BLOCKS_COLLECTION, MEMBERS_COLLECTION, POOLS_COLLECTION, memberIdOf, type BlockDoc, type MemberDoc, type PoolDoc } from './documents.js';
import { formatAddress, formatNet, parseAddressValue, parseNet, type Net } from './cidr.js';
import { ownerKey, type PoolView } from './pool-view.js';

/** Thrown inside a transaction that needs an up-to-date listing of the pool's blocks; the caller lists them and runs it again. */
export class NeedListing extends Error {
  constructor() {
    super('the pool’s blocks must be listed again');
  }
}

/** Errors that belong to one call of a batch (the other calls still commit). */
const callErrors = new WeakSet<Error>();

/** A SwitchyardError that fails only the call that caused it, not the batch. */
export function callError(...args: ConstructorParameters<typeof SwitchyardError>): SwitchyardError {
  const e = new SwitchyardError(...args);
  callErrors.add(e);
  return e;
}

/** True for an error made by {@link callError}. */
export const isCallError = (e: unknown): e is SwitchyardError => e instanceof Error && callErrors.has(e);

/** A block as one run of a transaction sees and changes it. */
export interface WorkBlock {
  /** Document id. */
  id: string;
  /** CIDR as numbers. */
  net: Net;
  /** The document, changed in place. */
  doc: BlockDoc;
  /** Changed in this run. */
  dirty: boolean;
  /** No address below this is free (within this run). */
  cursor: bigint;
}

/** Probes of blocks that turn out to be taken, before listing the pool's blocks instead. */
const MAX_PROBES = 16;

/**
 * One run of a batch's transaction: the blocks it read (memoized, so each is read once and compared once
 * at commit), what it changed, and the allocation logic on top. Nothing here outlives the run: the
 * transaction may run again, and the caller applies {@link observed} to its cache only after the commit.
 */
export class BlockTx {
  private readonly blocks = new Map<string, WorkBlock | null>();
  /** Owner key → block id (null: released) for changes made in this run. */
  private readonly ownerHints = new Map<string, string | null>();
  private probes = 0;
  private poolChecked = false;
  private memberKnown = false;
  private memberDirty = false;

  constructor(
    private readonly tx: GlobalStoreTx,
    readonly view: PoolView,
    /** Whether the view's block list was read just before this transaction. */
    readonly fresh: boolean,
  ) {}

  private get host(): string {
    return this.view.host;
  }

  /** Marks the membership as written by this transaction already. */
  memberWritten(): void {
    this.memberKnown = true;
    this.poolChecked = true;
  }

  /** Reads a block (once per run); null when absent. */
  async load(id: string, net?: Net): Promise<WorkBlock | null> {
    const known = this.blocks.get(id);
    if (known !== undefined) return known;
    const doc = await this.tx.get<BlockDoc>(BLOCKS_COLLECTION, id);
    const wb = doc === undefined ? null : { id, net: net ?? parseNet(doc.cidr, 'block'), doc: { ...doc, allocations: { ...doc.allocations } }, dirty: false, cursor: 0n };
    if (wb) wb.cursor = wb.net.network;
    this.blocks.set(id, wb);
    return wb;
  }

  /** This host's blocks of the pool as this run knows them, lowest first. */
  mineIds(): Array<{ id: string; net: Net }> {
    const ids = new Map<string, Net>();
    for (const [id, c] of this.view.mine) ids.set(id, c.net);
    for (const [id, wb] of this.blocks) {
      if (wb && wb.doc.host === this.host) ids.set(id, wb.net);
      else ids.delete(id);
    }
    return [...ids].map(([id, net]) => ({ id, net })).sort((a, b) => (a.net.network < b.net.network ? -1 : 1));
  }

  /** The lowest address of a block that is neither reserved nor handed out; undefined when it is full. */
  lowestFree(wb: WorkBlock): bigint | undefined {
    const reserved = this.view.reserved(wb.net);
    for (let v = wb.cursor; v <= wb.net.last; v++) {
      if (reserved.has(v)) continue;
      if (!(formatAddress(wb.net.family, v) in wb.doc.allocations)) {
        wb.cursor = v;
        return v;
      }
    }
    wb.cursor = wb.net.last + 1n;
    return undefined;
  }

  /** Hands out an address of a block. */
  take(wb: WorkBlock, value: bigint, owner: AddressOwner): void {
    wb.doc.allocations[formatAddress(wb.net.family, value)] = { id: owner.id, ifname: owner.ifname };
    wb.dirty = true;
    if (value === wb.cursor) wb.cursor = value + 1n;
    this.ownerHints.set(ownerKey(owner), wb.id);
  }

  /** Frees an address of a block; false when it was free. */
  free(wb: WorkBlock, value: bigint): boolean {
    const text = formatAddress(wb.net.family, value);
    const held = wb.doc.allocations[text];
    if (!held) return false;
    delete wb.doc.allocations[text];
    wb.dirty = true;
    if (value < wb.cursor) wb.cursor = value;
    this.ownerHints.set(ownerKey(held), null);
    return true;
  }

  /** The address an owner holds in this host's blocks, if any. */
  async findOwner(owner: AddressOwner): Promise<{ wb: WorkBlock; value: bigint } | undefined> {
    const key = ownerKey(owner);
    const local = this.ownerHints.get(key);
    if (local === null) return undefined;
    const hint = local ?? this.view.owners.get(key);
    if (hint !== undefined) {
      const found = this.ownerIn(await this.load(hint), owner);
      if (found) return found;
    }
    // Not where this process last saw it: look through every block of this host, listed afresh.
    if (!this.fresh) throw new NeedListing();
    for (const { id, net } of this.mineIds()) {
      const found = this.ownerIn(await this.load(id, net), owner);
      if (found) return found;
    }
    return undefined;
  }

  private ownerIn(wb: WorkBlock | null, owner: AddressOwner): { wb: WorkBlock; value: bigint } | undefined {
    if (!wb || wb.doc.host !== this.host) return undefined;
    for (const [address, held] of Object.entries(wb.doc.allocations)) {
      if (held.id === owner.id && held.ifname === owner.ifname) return { wb, value: parseAddressValue(address, 'address').value };
    }
    return undefined;
  }

  /** A free address in this host's blocks, lowest block first; undefined when they are full. */
  async freeInMine(): Promise<{ wb: WorkBlock; value: bigint } | undefined> {
    for (const { id, net } of this.mineIds()) {
      if (!this.blocks.has(id)) {
        const cached = this.view.mine.get(id);
        // The cache says it is full: skip the read (another process freeing an address there is rare).
        if (cached && BigInt(Object.keys(cached.doc.allocations).length) >= this.view.usable(net)) continue;
      }
      const wb = await this.load(id, net);
      if (!wb || wb.doc.host !== this.host) continue;
      const value = this.lowestFree(wb);
      if (value !== undefined) return { wb, value };
    }
    return undefined;
  }

  /**
   * This host's block found by walking from its starting block as its claim did (`host-subnet` mode, where the
   * host holds one); undefined when the walk meets a free block first or gives up, and a listing must tell.
   */
  async probeOwn(): Promise<WorkBlock | undefined> {
    let probes = 0;
    for (const net of this.view.candidates()) {
      if (this.view.usable(net) <= 0n) continue;
      if (++probes > MAX_PROBES) return undefined;
      const wb = await this.load(this.view.blockId(net), net);
      if (!wb) return undefined;
      if (wb.doc.host === this.host) return wb;
    }
    return undefined;
  }

  /** Claims the block `net` for this host when it is free; null when another host holds it. */
  async claim(net: Net): Promise<WorkBlock | null> {
    const id = this.view.blockId(net);
    const existing = await this.load(id, net);
    if (existing) return existing.doc.host === this.host ? existing : null;
    await this.checkPool();
    const wb: WorkBlock = { id, net, doc: { pool: this.view.poolId, cidr: formatNet(net), host: this.host, allocations: {} }, dirty: true, cursor: net.network };
    this.blocks.set(id, wb);
    return wb;
  }

  /** Claims the first free block from this host's starting point; null when every block is held. */
  async claimNext(): Promise<WorkBlock | null> {
    for (const net of this.view.candidates()) {
      const id = this.view.blockId(net);
      if (this.view.usable(net) <= 0n) continue;
      const seen = this.blocks.get(id);
      if (seen === null) return this.claim(net);
      if (seen !== undefined) continue;
      if (this.view.taken.has(id) || this.view.mine.has(id)) continue;
      if (!this.fresh && ++this.probes > MAX_PROBES) throw new NeedListing();
      const wb = await this.claim(net);
      // A new block, or one of ours this process did not know about (another process of this host claimed it).
      if (wb && this.lowestFree(wb) !== undefined) return wb;
    }
    // Every block looks held; only a fresh listing may say so.
    if (!this.fresh) throw new NeedListing();
    return null;
  }

  private async checkPool(): Promise<void> {
    if (!this.poolChecked) {
      const pool = await this.tx.get<PoolDoc>(POOLS_COLLECTION, this.view.poolId);
      if (!pool || pool.subnet !== this.view.doc.subnet || pool.blockPrefix !== this.view.doc.blockPrefix || pool.mode !== this.view.doc.mode) {
        throw callError('SWY_ERR_POOL_NOT_FOUND', `The global pool ${this.view.poolId} (${this.view.doc.subnet}) no longer exists in the cluster.`, {
          hint: 'Its network was removed on every host; remove and re-create the network on this host.',
          details: { poolId: this.view.poolId },
        });
      }
      this.poolChecked = true;
    }
    if (!this.memberKnown) {
      const id = memberIdOf(this.view.poolId, this.host);
      if ((await this.tx.get<MemberDoc>(MEMBERS_COLLECTION, id)) === undefined) this.memberDirty = true;
      this.memberKnown = true;
    }
  }

  /** Writes the changed blocks (and a lost membership), bound to this host's lease. */
  async flush(): Promise<void> {
    for (const wb of this.blocks.values()) if (wb?.dirty) await this.tx.putLeased(BLOCKS_COLLECTION, wb.id, wb.doc);
    if (this.memberDirty) await this.tx.putLeased<MemberDoc>(MEMBERS_COLLECTION, memberIdOf(this.view.poolId, this.host), { pool: this.view.poolId, host: this.host });
  }

  /** The state of every block this run read or wrote, as committed if the transaction commits. */
  observed(): Array<[string, BlockDoc | undefined]> {
    return [...this.blocks].map(([id, wb]) => [id, wb?.doc]);
  }
}
