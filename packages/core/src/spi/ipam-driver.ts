import type { IpFamily, IpamRangeConfig, JsonObject } from '../model/types.js';

/** What {@link IpamDriver.requestPool} is asked for: a pool of one address family for one network. */
export interface PoolRequest {
  /** Network the pool is for (IPAMs that share a data directory with CNI key files by name). */
  networkId: string;
  /** Name of the network the pool is for. */
  networkName: string;
  /** Address family of the pool. */
  family: IpFamily;
  /** Ranges the user asked for; empty = pick a free default pool. */
  ranges: IpamRangeConfig[];
  /** CIDRs the pool must not overlap (host routes and addresses, other networks). */
  exclude: string[];
  /** IPAM-driver-specific options from the network's IPAM config. */
  options: JsonObject;
}

/** A reserved pool. */
export interface PoolResponse {
  /** Opaque id of the pool; pass it back to every later call about the pool. */
  poolId: string;
  /** Subnet of the (first) range, CIDR. */
  subnet: string;
  /** Gateway address without prefix, when the pool reserves one. */
  gateway?: string;
}

/** Who holds an address: the endpoint and its interface name. */
export interface AddressOwner {
  /** Container / endpoint id. */
  id: string;
  /** Interface name inside the sandbox (`eth0`, …). */
  ifname: string;
}

/** What {@link IpamDriver.requestAddress} is asked for. */
export interface AddressRequest {
  /** The pool to take the address from (a {@link PoolResponse.poolId}). */
  poolId: string;
  /** Who the address is for. */
  owner: AddressOwner;
  /** A specific address (no prefix); omitted = the next free one. */
  address?: string;
  /**
   * The caller's promise that this owner has never been given an address in the pool (its id was just
   * made, as core's endpoint ids are), so the IPAM may skip looking for one it already holds — for
   * host-local, a read of every address file of the network in a process that has not seen them.
   */
  newOwner?: boolean;
}

/** A reserved address. */
export interface AddressResponse {
  /** Address with the subnet's prefix length, e.g. `10.1.0.5/24`. */
  address: string;
  /** The pool's gateway address without prefix, when it reserves one. */
  gateway?: string;
}

/** An IPAM driver (CNM's contract). Each call is atomic: it either takes effect fully or not at all. */
export interface IpamDriver {
  /** The name networks use to pick it (`host-local`). */
  readonly name: string;
  /** Reserves a pool; throws SWY_ERR_POOL_OVERLAP / SWY_ERR_NO_FREE_POOL / SWY_ERR_INVALID_CIDR / SWY_ERR_RANGE_INVALID. */
  requestPool(request: PoolRequest): Promise<PoolResponse>;
  /** Releases a pool and the addresses its network reserved in it (never another owner's, e.g. CNI's in a shared directory); succeeds when it is already gone. */
  releasePool(poolId: string): Promise<void>;
  /**
   * Optional: the id `requestPool` will give this network's pool of this family, for an IPAM that can
   * tell before making it (a cluster-wide one, whose pools outlive the process that asked). Core names it
   * in the network create's intent before asking, so a process killed right after `requestPool` leaves a
   * pool that recovery releases (`releasePool` of a pool never made must succeed).
   */
  poolIdFor?(request: Pick<PoolRequest, 'networkId' | 'networkName' | 'family'>): string;
  /** Reserves an address for an owner; the same owner asking again gets the same address. Throws SWY_ERR_POOL_EXHAUSTED or SWY_ERR_ADDRESS_IN_USE. */
  requestAddress(request: AddressRequest): Promise<AddressResponse>;
  /** Releases an address (with or without prefix); succeeds when it is already free. */
  releaseAddress(poolId: string, address: string): Promise<void>;
  /** Releases whatever an owner holds in a pool; succeeds when it holds nothing. */
  releaseOwner(poolId: string, owner: AddressOwner): Promise<void>;
}
