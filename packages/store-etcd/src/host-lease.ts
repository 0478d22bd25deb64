import { EventEmitter } from 'eventemitter3';
import type { Lease } from 'etcd3';
import { GLOBAL_COLLECTIONS, type HostRecord } from '@switchyard/core';
import type { EtcdStore } from './etcd-store.js';

/** What a {@link HostLease} reports. */
export interface HostLeaseEvents {
  /** The lease could not be renewed for longer than its TTL: etcd has (or will have) deleted this host's leased documents. */
  lost: [error: Error];
}

/**
 * This host's membership of the cluster: an etcd lease kept alive, and the host's record bound to it.
 * Every document a host writes with `putLeased` (address blocks, endpoints, subnets) is bound to the
 * same lease, so when the host stops renewing it (its agent died, the machine is gone) etcd deletes
 * them all after `ttl` seconds and the other hosts' watches see them go.
 *
 * A new lease taking over from a previous one (an agent restarted within the TTL) moves every key of
 * the old lease to the new one before revoking the old, so nothing the host published blinks.
 */
export class HostLease extends EventEmitter<HostLeaseEvents> {
  private lease: Lease | undefined;
  private current: HostRecord | undefined;

  constructor(
    private readonly store: EtcdStore,
    private readonly address: string,
    private readonly ttl: number,
  ) {
    super();
  }

  /** The host record while the lease is held. */
  get record(): HostRecord | undefined {
    return this.current;
  }

  /** Grants a lease, takes over the keys of this host's previous lease if it is still alive, and registers the host. */
  async start(): Promise<HostRecord> {
    const store = this.store;
    const lease = store.client.lease(this.ttl, { autoKeepAlive: true });
    lease.on('lost', (e) => {
      this.current = undefined;
      store.forgetHost();
      this.emit('lost', e);
    });
    const leaseId = await store.call('lease grant', () => lease.grant());
    this.lease = lease;
    const previous = await store.host();
    if (previous && previous.leaseId !== leaseId) await this.takeOver(previous.leaseId, leaseId);
    const record: HostRecord = { name: store.hostName, address: this.address, leaseId, ttl: this.ttl, since: new Date().toISOString() };
    const key = store.keyOf(GLOBAL_COLLECTIONS.hosts, store.hostName);
    await store.call('register host', () => store.client.kv.put({ key: Buffer.from(key), value: Buffer.from(JSON.stringify(record)), lease: leaseId }));
    if (previous && previous.leaseId !== leaseId) await store.call('lease revoke', () => store.client.leaseClient.leaseRevoke({ ID: previous.leaseId })).catch(() => undefined);
    store.forgetHost();
    this.current = record;
    return record;
  }

  /** Moves every key still bound to `oldId` to `newId`, each only if unchanged since read. */
  private async takeOver(oldId: string, newId: string): Promise<void> {
    const store = this.store;
    const ttl = await store.call('lease ttl', () => store.client.leaseClient.leaseTimeToLive({ ID: oldId, keys: true }));
    if (Number(ttl.TTL) <= 0) return; // expired: etcd deleted its keys already
    for (const k of ttl.keys ?? []) {
      const key = k.toString();
      const seen = await store.read(key);
      if (seen.value === undefined) continue;
      await store.call('lease takeover', () =>
        store.client.kv.txn({
          compare: [{ key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: seen.mod }],
          success: [{ request_put: { key: Buffer.from(key), value: Buffer.from(seen.value!), lease: newId } }],
          failure: [],
        }),
      );
    }
  }

  /**
   * Stops renewing. `revoke: true` ends the lease now (a host leaving the cluster: its documents go at
   * once); otherwise it expires after its TTL unless a new agent takes it over first.
   */
  async stop(options: { revoke?: boolean } = {}): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    this.current = undefined;
    if (!lease) return;
    if (options.revoke) await lease.revoke().catch(() => undefined);
    else lease.release();
  }
}
