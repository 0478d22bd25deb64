import type { IpFamily } from '@switchyard/core';

/** Global-store collection of {@link PoolDoc}s, by pool id (`<network name>.v<4|6>`). Not leased: a pool outlives its hosts. */
export const POOLS_COLLECTION = 'plugin:ipam-global.pools' as const;
/** Global-store collection of {@link MemberDoc}s, by `<pool id>@<host>`, each bound to its host's lease. */
export const MEMBERS_COLLECTION = 'plugin:ipam-global.members' as const;
/** Global-store collection of {@link BlockDoc}s, by `<pool id>.<block network address>`, each bound to its owning host's lease. */
export const BLOCKS_COLLECTION = 'plugin:ipam-global.blocks' as const;

/** The three collections the `global` IPAM keeps in the global store. */
export const GLOBAL_IPAM_COLLECTIONS = {
  /** {@link PoolDoc}s. */
  pools: POOLS_COLLECTION,
  /** {@link MemberDoc}s. */
  members: MEMBERS_COLLECTION,
  /** {@link BlockDoc}s. */
  blocks: BLOCKS_COLLECTION,
} as const;

/**
 * How a pool is split between hosts: `blocks` (Calico): a host claims small blocks as it needs addresses,
 * and endpoints get addresses with the pool's prefix; `host-subnet` (flannel host-gw): each host claims
 * exactly one block when it joins the pool, and that block is the subnet of its bridge.
 */
export type PoolMode = 'blocks' | 'host-subnet';

/** A global pool: one address family of one global network, shared by every host in the cluster. */
export interface PoolDoc {
  /** The global network's name. */
  network: string;
  /** Address family. */
  family: IpFamily;
  /** The whole pool, canonical CIDR (`10.200.0.0/16`). */
  subnet: string;
  /** The pool's gateway (no prefix) in `blocks` mode: the subnet's first address unless the network names one; absent in `host-subnet` mode (each block has its own). */
  gateway?: string;
  /** Prefix length of the blocks hosts claim (default 26 / 122 in `blocks` mode, 24 / 120 in `host-subnet` mode). */
  blockPrefix: number;
  /** How the pool is split between hosts. */
  mode: PoolMode;
}

/** A host's membership in a pool (it requested the pool and has not released it). */
export interface MemberDoc {
  /** The pool's id. */
  pool: string;
  /** The member host's name. */
  host: string;
}

/** Who holds an address of a block: the endpoint (or network, for reserved addresses) and its interface. */
export interface BlockAllocation {
  /** The owner's id. */
  id: string;
  /** The owner's interface name. */
  ifname: string;
}

/** A block of a pool claimed by one host, with the addresses handed out from it. */
export interface BlockDoc {
  /** The pool's id. */
  pool: string;
  /** The block, canonical CIDR (`10.200.0.64/26`). */
  cidr: string;
  /** The host that claimed it (the block lives as long as that host's lease). */
  host: string;
  /** Addresses handed out from the block (canonical, without prefix) and their owners. */
  allocations: Record<string, BlockAllocation>;
}

/** The id of a network's pool of one family: `<network>.v<family>` (`web.v4`). */
export function poolIdOf(network: string, family: IpFamily): string {
  return `${network}.v${family}`;
}

/** The id of a block document: `<pool id>.<block network address>` (`web.v4.10.200.0.64`). */
export function blockIdOf(poolId: string, blockAddress: string): string {
  return `${poolId}.${blockAddress}`;
}

/** The id of a membership document: `<pool id>@<host>`. */
export function memberIdOf(poolId: string, host: string): string {
  return `${poolId}@${host}`;
}
