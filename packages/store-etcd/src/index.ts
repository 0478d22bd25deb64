/**
 * Switchyard's global store on etcd v3: the `GlobalStore` port (compare-and-swap transactions, watches)
 * for the objects of networks that span hosts, and the per-host lease that keeps a host's objects alive.
 * Local-scope objects stay in the embedded file store.
 *
 * @module \@switchyard/store-etcd
 */
export { EtcdStore, openEtcdStore, type Seen } from './etcd-store.js';
export { HostLease, type HostLeaseEvents } from './host-lease.js';
export { resolveEtcdOptions, type EtcdStoreOptions, type ResolvedEtcdOptions } from './etcd-options.js';
export { startEtcdServer, type EtcdServer, type EtcdServerOptions } from './etcd-server.js';
