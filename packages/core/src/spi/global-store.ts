import type { Collection, StateStore, StoreTx } from './state-store.js';

/**
 * A host of a multi-host cluster, as its agent registers it in the global store. The document lives as
 * long as the host's lease: when the agent stops renewing it, the store removes the host and every
 * document bound to its lease (its address blocks, endpoints and subnets).
 */
export interface HostRecord {
  /** The host's name, unique in the cluster (default: the machine's hostname). */
  name: string;
  /** The host's underlay address: other hosts send VXLAN packets and routed traffic here. */
  address: string;
  /** The store's id of the host's lease (decimal string). */
  leaseId: string;
  /** Seconds the lease lives without renewal. */
  ttl: number;
  /** When the agent registered the host (ISO 8601). */
  since: string;
}

/** A transaction on the global store: a {@link StoreTx} whose writes may be bound to this host's lease. */
export interface GlobalStoreTx extends StoreTx {
  /**
   * Writes a document that lives only as long as this host's lease (an address block, an endpoint): when
   * the host's agent dies and the lease expires, the store deletes it. Throws SWY_ERR_HOST_NOT_JOINED
   * when no agent holds a lease for this host. The transaction fails and retries if the lease changes.
   */
  putLeased<T>(collection: Collection, id: string, doc: T): Promise<void>;
}

/** One change a {@link GlobalStore.watch} reports. */
export interface GlobalChange<T = unknown> {
  /** `put` for a created or replaced document, `delete` for a removed or expired one. */
  type: 'put' | 'delete';
  /** The document's id in its collection. */
  id: string;
  /** The document after a put. */
  doc?: T;
}

/** What a watch calls back. */
export interface GlobalWatchHandlers<T> {
  /** Called with each change, in the store's order. */
  change(change: GlobalChange<T>): void;
  /**
   * Called when changes may have been missed (the store was unreachable): read the whole collection
   * again. Also called once the watch is first established.
   */
  resync(): void;
}

/**
 * The store of a cluster's global-scope objects (networks spanning hosts, their endpoints, address
 * blocks, host leases), shared by every host: `@switchyard/store-etcd` on etcd, `MemoryGlobalStore` in
 * tests. Transactions are optimistic: `fn` may run more than once (it is retried when another host
 * changed what it read), so it must have no effect outside the transaction. The lock scope is ignored.
 */
export interface GlobalStore extends StateStore {
  /** This host's name in the cluster. */
  readonly hostName: string;
  /** Runs `fn` as one compare-and-swap transaction, retrying it on conflict. */
  transaction<T>(fn: (tx: GlobalStoreTx) => Promise<T>): Promise<T>;
  /**
   * The registered host of that name (default this one); undefined when its lease is gone. This host's own
   * record may be the one last read (its address does not change while it lives): a lease that expired
   * since shows at the next leased write, which then fails with SWY_ERR_HOST_NOT_JOINED.
   */
  host(name?: string): Promise<HostRecord | undefined>;
  /** Follows a collection's changes until the returned function is called. */
  watch<T>(collection: Collection, handlers: GlobalWatchHandlers<T>): Promise<() => Promise<void>>;
}

/** Collections of the global store that core and the multi-host packages share. */
export const GLOBAL_COLLECTIONS = {
  /** {@link HostRecord}s by host name, each bound to its own lease. */
  hosts: 'hosts',
  /** Endpoints of global networks ({@link GlobalEndpoint}) by endpoint id, bound to their host's lease. */
  endpoints: 'endpoints',
} as const satisfies Record<string, Collection>;

/** An endpoint of a global network as every host sees it: what a remote host needs to reach it. */
export interface GlobalEndpoint {
  /** The endpoint's id. */
  id: string;
  /** The global network's name (the same on every host). */
  network: string;
  /** The network's driver type (`overlay`, `routed`). */
  driver: string;
  /** The host the endpoint lives on. */
  host: string;
  /** That host's underlay address. */
  hostAddress: string;
  /** The endpoint's MAC. */
  mac?: string;
  /** IPv4 address with prefix length. */
  ipv4?: string;
  /** IPv6 address with prefix length. */
  ipv6?: string;
  /** Driver data remote hosts need (the overlay's VNI). */
  data?: Record<string, string | number>;
}
