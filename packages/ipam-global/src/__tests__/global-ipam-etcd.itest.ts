// The global IPAM on real etcd (Debian's etcd-server, loopback of the lab namespace, data on a tmpfs):
// three hosts allocating at once from one pool, then one host's lease expiring.
import { GlobalIpam, BLOCKS_COLLECTION, type BlockDoc } from '../index.js';
import { HostLease, openEtcdStore, startEtcdServer, type EtcdServer, type EtcdStore } from '@switchyard/store-etcd';
import { waitUntil } from '@switchyard/core/testing';

let etcd: EtcdServer;
const hosts: Array<{ store: EtcdStore; lease: HostLease; ipam: GlobalIpam }> = [];

beforeAll(async () => {
  etcd = await startEtcdServer({ address: '127.0.0.1', port: 23820, dataDir: `/dev/shm/swy-ipam-etcd-${process.pid}` });
  for (const name of ['h1', 'h2', 'h3']) {
    const store = await openEtcdStore({ endpoints: etcd.url, hostName: name });
    const lease = new HostLease(store, `10.9.9.${hosts.length + 1}`, 2);
    await lease.start();
    hosts.push({ store, lease, ipam: new GlobalIpam({ globalStore: store }) });
  }
});

afterAll(async () => {
  for (const h of hosts) {
    await h.lease.stop({ revoke: true });
    await h.store.close();
  }
  await etcd.stop({ wipe: true });
});

describe('global IPAM on etcd', () => {
  it('hands out 3 x 1000 addresses from three hosts at once, 16 in flight each, with no duplicate', async () => {
    const pools: string[] = [];
    for (const h of hosts) pools.push((await h.ipam.requestPool({ networkId: 'n', networkName: 'big', family: 4, ranges: [{ subnet: '10.64.0.0/16' }], exclude: [], options: {} })).poolId);
    const got: Array<{ host: string; address: string }> = [];
    const t0 = performance.now();
    await Promise.all(
      hosts.map(async (h, i) => {
        let next = 0;
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (next < 1000) {
              const id = `${h.store.hostName}-${next++}`;
              const r = await h.ipam.requestAddress({ poolId: pools[i]!, owner: { id, ifname: 'eth0' }, newOwner: true });
              got.push({ host: h.store.hostName, address: r.address });
            }
          }),
        );
      }),
    );
    const perSecond = got.length / ((performance.now() - t0) / 1000);
    expect(got).toHaveLength(3000);
    expect(new Set(got.map((g) => g.address)).size).toBe(3000);
    // Every address sits in a block its host holds, as the store says.
    const blocks = await hosts[0]!.store.list<BlockDoc>(BLOCKS_COLLECTION);
    const owners = new Map<string, string>();
    for (const b of blocks) for (const ip of Object.keys(b.allocations)) owners.set(ip, b.host);
    for (const g of got) expect(owners.get(g.address.split('/')[0]!)).toBe(g.host);
    process.stderr.write(`global IPAM on etcd: 3000 allocations, ${Math.round(perSecond)}/s\n`);
  });

  it("returns a host's blocks and addresses to the pool once its lease expires", async () => {
    const [h1, h2, h3] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
    const pool = (await h3.ipam.requestPool({ networkId: 'n2', networkName: 'small', family: 4, ranges: [{ subnet: '10.65.0.0/26' }], exclude: [], options: { blockPrefix: 28 } })).poolId;
    await h1.ipam.requestPool({ networkId: 'n2', networkName: 'small', family: 4, ranges: [{ subnet: '10.65.0.0/26' }], exclude: [], options: { blockPrefix: 28 } });
    // h3 takes most of the pool.
    const taken: string[] = [];
    for (let i = 0; i < 40; i++) taken.push((await h3.ipam.requestAddress({ poolId: pool, owner: { id: `x${i}`, ifname: 'eth0' }, newOwner: true })).address);
    const ofH3 = async () => (await h2.store.list<BlockDoc>(BLOCKS_COLLECTION)).filter((b) => b.pool === pool && b.host === 'h3').length;
    expect(await ofH3()).toBeGreaterThan(0);
    await h3.lease.stop(); // the agent dies without leaving
    await waitUntil(async () => (await ofH3()) === 0, "h3's blocks to expire");
    // h1 can now take addresses h3 held.
    const again: string[] = [];
    for (let i = 0; i < 40; i++) again.push((await h1.ipam.requestAddress({ poolId: pool, owner: { id: `y${i}`, ifname: 'eth0' }, newOwner: true })).address);
    expect(again.filter((a) => taken.includes(a)).length).toBeGreaterThan(0);
    await h3.lease.start();
  });
});
