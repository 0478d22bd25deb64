import type { AddressResponse } from '@switchyard/core';
import { blockIdOf, type BlockAllocation, type BlockDoc, type PoolDoc } from './documents.js';
import { formatAddress, hostHash, netOf, parseAddressValue, parseNet, type Net } from './cidr.js';

/** A block this process knows as this host's, as last committed or read. */
export interface CachedBlock {
  /** The document. */
  doc: BlockDoc;
  /** Its CIDR as numbers. */
  net: Net;
}

/** The key of an owner in maps. */
export const ownerKey = (o: BlockAllocation): string => `${o.id}\u0000${o.ifname}`;

/**
 * What one process knows of one pool: the pool document, this host's blocks (a cache: every transaction
 * re-reads the blocks it changes, so a stale entry costs a retry or a wasted probe, never a wrong answer),
 * the blocks other hosts hold, and which block holds each owner's address.
 */
export class PoolView {
  /** The pool as numbers. */
  readonly subnet: Net;
  /** The pool gateway, in `blocks` mode. */
  readonly gateway: bigint | undefined;
  /** This host's blocks by id. */
  readonly mine = new Map<string, CachedBlock>();
  /** Blocks known to be held by other hosts. */
  readonly taken = new Set<string>();
  /** Owner key → id of the block of this host holding its address. */
  readonly owners = new Map<string, string>();

  constructor(
    readonly poolId: string,
    readonly doc: PoolDoc,
    readonly host: string,
  ) {
    this.subnet = parseNet(doc.subnet, 'pool subnet');
    this.gateway = doc.gateway === undefined ? undefined : parseAddressValue(doc.gateway, 'pool gateway').value;
  }

  /** True in flannel-style mode: one block per host, which is the host's subnet. */
  get hostSubnet(): boolean {
    return this.doc.mode === 'host-subnet';
  }

  /** The block of the pool containing `value`. */
  blockNetOf(value: bigint): Net {
    return netOf(this.subnet.family, value, this.doc.blockPrefix);
  }

  /** The document id of a block. */
  blockId(net: Net): string {
    return blockIdOf(this.poolId, formatAddress(net.family, net.network));
  }

  /** Addresses of a block that are never handed out, with why (`network`, `broadcast` or `gateway`). */
  reserved(block: Net): Map<bigint, 'network' | 'broadcast' | 'gateway'> {
    const out = new Map<bigint, 'network' | 'broadcast' | 'gateway'>();
    const outer = this.hostSubnet ? block : this.subnet;
    const gateway = this.hostSubnet ? block.network + 1n : this.gateway;
    const add = (v: bigint | undefined, why: 'network' | 'broadcast' | 'gateway'): void => {
      if (v !== undefined && v >= block.network && v <= block.last && !out.has(v)) out.set(v, why);
    };
    add(outer.network, 'network');
    if (outer.family === 4) add(outer.last, 'broadcast');
    add(gateway, 'gateway');
    return out;
  }

  /** How many addresses of a block can be handed out. */
  usable(block: Net): bigint {
    return block.last - block.network + 1n - BigInt(this.reserved(block).size);
  }

  /** The gateway endpoints of a block use. */
  gatewayFor(block: Net): string | undefined {
    if (this.hostSubnet) return formatAddress(block.family, block.network + 1n);
    return this.doc.gateway;
  }

  /** The answer for an address of a block: the pool's prefix in `blocks` mode, the block's in `host-subnet` mode. */
  response(block: Net, value: bigint): AddressResponse {
    const prefix = this.hostSubnet ? block.prefix : this.subnet.prefix;
    const gateway = this.gatewayFor(block);
    return { address: `${formatAddress(block.family, value)}/${prefix}`, ...(gateway === undefined ? {} : { gateway }) };
  }

  /** Every block of the pool, starting at the one this host's name hashes to (Calico's affinity: hosts spread out instead of racing). */
  *candidates(): Generator<Net> {
    const count = 1n << BigInt(this.doc.blockPrefix - this.subnet.prefix);
    const step = 1n << BigInt((this.subnet.family === 4 ? 32 : 128) - this.doc.blockPrefix);
    const start = hostHash(this.host) % count;
    for (let i = 0n; i < count; i++) yield netOf(this.subnet.family, this.subnet.network + ((start + i) % count) * step, this.doc.blockPrefix);
  }

  /** Replaces what is known of the pool's blocks with a listing of them. */
  resetFrom(blocks: BlockDoc[]): void {
    for (const id of [...this.mine.keys()]) this.observe(id, undefined);
    this.taken.clear();
    for (const doc of blocks) {
      const net = parseNet(doc.cidr, 'block');
      this.observe(this.blockId(net), doc, net);
    }
  }

  /** Records a block's committed state (undefined: absent). */
  observe(id: string, doc: BlockDoc | undefined, net?: Net): void {
    const old = this.mine.get(id);
    if (old) {
      for (const owner of Object.values(old.doc.allocations)) {
        const key = ownerKey(owner);
        if (this.owners.get(key) === id) this.owners.delete(key);
      }
      this.mine.delete(id);
    }
    this.taken.delete(id);
    if (doc === undefined) return;
    if (doc.host !== this.host) {
      this.taken.add(id);
      return;
    }
    this.mine.set(id, { doc, net: net ?? old?.net ?? parseNet(doc.cidr, 'block') });
    for (const owner of Object.values(doc.allocations)) this.owners.set(ownerKey(owner), id);
  }
}
