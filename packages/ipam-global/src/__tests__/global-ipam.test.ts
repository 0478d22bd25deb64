import { Address4 } from 'ip-address';
import { MemoryCluster } from '@switchyard/core/testing';
import manifest, { BLOCKS_COLLECTION, GlobalIpam, MEMBERS_COLLECTION, POOLS_COLLECTION, type BlockDoc } from '../index.js';
import { RerunningStore, caught, countingStore, expectCoded, ipamDocs, owner, poolRequest } from './helpers.js';

let cluster: MemoryCluster;
beforeEach(() => {
  cluster = new MemoryCluster();
  for (const [i, host] of ['h1', 'h2', 'h3'].entries()) cluster.join(host, `192.0.2.${i + 1}`);
});

const ipamOn = (host: string, maxBatch?: number) => new GlobalIpam({ globalStore: cluster.storeFor(host), ...(maxBatch ? { maxBatch } : {}) });
const blocksOf = (host: string): BlockDoc[] => Object.values(ipamDocs(cluster).blocks).filter((b) => b.host === host);
const inCidr = (address: string, cidr: string) => new Address4(address.split('/')[0]!).isInSubnet(new Address4(cidr));

describe('GlobalIpam', () => {
  it('is what the manifest creates from the instance’s global store', async () => {
    expect(manifest).toMatchObject({ kind: 'ipam', apiVersion: 1, name: 'global', version: '0.1.0' });
    const created = await manifest.create({ globalStore: cluster.storeFor('h1') } as never);
    expect(created).toBeInstanceOf(GlobalIpam);
    expect(created.name).toBe('global');
    expect(await created.requestPool(poolRequest())).toEqual({ poolId: 'web.v4', subnet: '10.200.0.0/16', gateway: '10.200.0.1' });
  });

  it('names a network’s pool before making it, as requestPool then does, and releasing a pool never made succeeds', async () => {
    const ipam = ipamOn('h1');
    const foreseen = [4, 6].map((family) => ipam.poolIdFor({ networkId: 'id', networkName: 'web', family: family as 4 | 6 }));
    expect(foreseen).toEqual(['web.v4', 'web.v6']);
    await ipam.releasePool('web.v4');
    expect(ipamDocs(cluster)).toEqual({ pools: {}, members: {}, blocks: {} });
    expect((await ipam.requestPool(poolRequest())).poolId).toBe(foreseen[0]);
  });

  it('refuses every call without a global store, writing nothing', async () => {
    const ipam = await manifest.create({} as never);
    const calls = [
      () => ipam.requestPool(poolRequest()),
      () => ipam.requestAddress({ poolId: 'web.v4', owner: owner('c1') }),
      () => ipam.releaseAddress('web.v4', '10.200.0.2'),
      () => ipam.releaseOwner('web.v4', owner('c1')),
      () => ipam.releasePool('web.v4'),
    ];
    for (const call of calls) expectCoded(await caught(call), 'SWY_ERR_GLOBAL_STORE_MISSING', 'global store');
    expect(ipamDocs(cluster)).toEqual({ pools: {}, members: {}, blocks: {} });
  });

  it('refuses a host that holds no lease, writing nothing', async () => {
    cluster.expire('h1');
    const ipam = ipamOn('h1');
    expectCoded(await caught(() => ipam.requestPool(poolRequest())), 'SWY_ERR_HOST_NOT_JOINED', 'h1');
    expect(ipamDocs(cluster)).toEqual({ pools: {}, members: {}, blocks: {} });
    // A pool made by another host: this host cannot take addresses from it either.
    const { poolId } = await ipamOn('h2').requestPool(poolRequest());
    const before = ipamDocs(cluster);
    expectCoded(await caught(() => ipam.requestAddress({ poolId, owner: owner('c1') })), 'SWY_ERR_HOST_NOT_JOINED', 'h1');
    expect(ipamDocs(cluster)).toEqual(before);
  });

  it('creates a pool in the first free 10.200-255.0.0/16 and records it and the membership', async () => {
    const ipam = ipamOn('h1');
    expect(await ipam.requestPool(poolRequest())).toEqual({ poolId: 'web.v4', subnet: '10.200.0.0/16', gateway: '10.200.0.1' });
    expect(await ipam.requestPool(poolRequest({ networkName: 'db', networkId: 'id-db' }))).toMatchObject({ poolId: 'db.v4', subnet: '10.201.0.0/16' });
    // exclude (this host's routes, other networks) is skipped, as are other global pools.
    expect(await ipam.requestPool(poolRequest({ networkName: 'api', exclude: ['10.202.3.0/24', '192.168.1.5', 'junk'] }))).toMatchObject({ subnet: '10.203.0.0/16' });
    const docs = ipamDocs(cluster);
    expect(docs.pools['web.v4']).toEqual({ network: 'web', family: 4, subnet: '10.200.0.0/16', gateway: '10.200.0.1', blockPrefix: 26, mode: 'blocks' });
    expect(docs.members['web.v4@h1']).toEqual({ pool: 'web.v4', host: 'h1' });
    expect(Object.keys(docs.members).sort()).toEqual(['api.v4@h1', 'db.v4@h1', 'web.v4@h1']);
    // An explicit subnet overlapping another global pool is refused.
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ networkName: 'x', ranges: [{ subnet: '10.201.5.0/24' }] }))), 'SWY_ERR_POOL_OVERLAP', 'db');
  });

  it('lets a second host adopt the pool and refuses a mismatching request, writing nothing', async () => {
    const first = await ipamOn('h1').requestPool(poolRequest({ ranges: [{ subnet: '10.50.0.0/20' }], options: { blockPrefix: 28 } }));
    const h2 = ipamOn('h2');
    expect(await h2.requestPool(poolRequest())).toEqual(first);
    expect(await h2.requestPool(poolRequest({ ranges: [{ subnet: '10.50.0.0/20', gateway: '10.50.0.1' }], options: { blockPrefix: '28' } }))).toEqual(first);
    const before = ipamDocs(cluster);
    expect(Object.keys(before.members).sort()).toEqual(['web.v4@h1', 'web.v4@h2']);
    const h3 = ipamOn('h3');
    expectCoded(await caught(() => h3.requestPool(poolRequest({ ranges: [{ subnet: '10.51.0.0/20' }] }))), 'SWY_ERR_GLOBAL_NETWORK_MISMATCH', '10.51.0.0/20', '10.50.0.0/20');
    expectCoded(await caught(() => h3.requestPool(poolRequest({ options: { blockPrefix: 26 } }))), 'SWY_ERR_GLOBAL_NETWORK_MISMATCH', 'blockPrefix');
    expectCoded(await caught(() => h3.requestPool(poolRequest({ options: { mode: 'host-subnet' } }))), 'SWY_ERR_GLOBAL_NETWORK_MISMATCH', 'mode');
    expect(ipamDocs(cluster)).toEqual(before);
  });

  it('refuses bad requests with coded errors', async () => {
    const ipam = ipamOn('h1');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ options: { bogus: 1 } }))), 'SWY_ERR_INVALID_OPTION', 'bogus');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ options: { mode: 'mesh' } }))), 'SWY_ERR_INVALID_OPTION', 'mesh');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ options: { blockPrefix: 40 } }))), 'SWY_ERR_INVALID_OPTION', 'blockPrefix');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ ranges: [{ subnet: '10.1.0.0/24' }], options: { blockPrefix: 16 } }))), 'SWY_ERR_INVALID_OPTION', 'blockPrefix');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ ranges: [{ subnet: '10.1.0.0/24', ipRange: '10.1.0.0/25' }] }))), 'SWY_ERR_INVALID_OPTION', 'ipRange');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ ranges: [{ subnet: '10.1.0.0/33' }] }))), 'SWY_ERR_INVALID_CIDR');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ ranges: [{ subnet: 'fd00::/64' }] }))), 'SWY_ERR_RANGE_INVALID');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ ranges: [{ subnet: '10.1.0.0/31' }] }))), 'SWY_ERR_SUBNET_TOO_SMALL');
    expectCoded(await caught(() => ipam.requestPool(poolRequest({ ranges: [{ subnet: '10.1.0.0/24', gateway: '10.2.0.1' }] }))), 'SWY_ERR_RANGE_INVALID');
    expect(ipamDocs(cluster)).toEqual({ pools: {}, members: {}, blocks: {} });
    const { poolId } = await ipam.requestPool(poolRequest());
    expectCoded(await caught(() => ipam.requestAddress({ poolId: 'nope.v4', owner: owner('c1') })), 'SWY_ERR_POOL_NOT_FOUND', 'nope.v4');
    expectCoded(await caught(() => ipam.requestAddress({ poolId, owner: owner('c1'), address: 'x' })), 'SWY_ERR_INVALID_CIDR');
    expectCoded(await caught(() => ipam.requestAddress({ poolId, owner: owner('') })), 'SWY_ERR_INVALID_NAME');
  });

  it('hands out the lowest free address of the host’s block with the pool’s prefix, and the same one to the same owner', async () => {
    const ipam = ipamOn('h1');
    const { poolId } = await ipam.requestPool(poolRequest({ ranges: [{ subnet: '10.60.0.0/24' }], options: { blockPrefix: 28 } }));
    const first = await ipam.requestAddress({ poolId, owner: owner('c1') });
    const [block] = blocksOf('h1');
    expect(block).toBeDefined();
    expect(inCidr(first.address, block!.cidr)).toBe(true);
    expect(first.address.endsWith('/24')).toBe(true);
    expect(first.gateway).toBe('10.60.0.1');
    // The block's lowest host address (never the pool's network address, broadcast or gateway).
    const base = new Address4(block!.cidr).startAddress().bigInt();
    const lowest = [base, base + 1n, base + 2n].find((v) => v !== 0x0a3c0000n && v !== 0x0a3c0001n)!;
    expect(first.address).toBe(`${Address4.fromBigInt(lowest).correctForm()}/24`);
    const id = `web.v4.${block!.cidr.split('/')[0]}`;
    expect(cluster.read<BlockDoc>(BLOCKS_COLLECTION, id)).toEqual({ pool: 'web.v4', cidr: block!.cidr, host: 'h1', allocations: { [first.address.split('/')[0]!]: { id: 'c1', ifname: 'eth0' } } });
    expect(await ipam.requestAddress({ poolId, owner: owner('c1') })).toEqual(first);
    // A new process on the same host finds it too.
    expect(await ipamOn('h1').requestAddress({ poolId, owner: owner('c1') })).toEqual(first);
    // newOwner: the caller promises the owner holds nothing, so no lookup is made.
    expect((await ipam.requestAddress({ poolId, owner: owner('c1'), newOwner: true })).address).not.toBe(first.address);
  });

  it('spreads hosts over the pool and claims the next free block when the host’s are full', async () => {
    const h1 = ipamOn('h1');
    const { poolId } = await h1.requestPool(poolRequest({ ranges: [{ subnet: '10.70.0.0/24' }], options: { blockPrefix: 28 } }));
    await ipamOn('h2').requestPool(poolRequest());
    await ipamOn('h2').requestAddress({ poolId, owner: owner('other') });
    const got = [];
    for (let i = 0; i < 20; i++) got.push((await h1.requestAddress({ poolId, owner: owner(`c${i}`), newOwner: true })).address);
    expect(new Set(got).size).toBe(20);
    const mine = blocksOf('h1');
    expect(mine).toHaveLength(2);
    for (const a of got) expect(mine.some((b) => inCidr(a, b.cidr))).toBe(true);
    expect(blocksOf('h2')).toHaveLength(1);
    expect(mine.some((b) => b.cidr === blocksOf('h2')[0]!.cidr)).toBe(false);
    // The second block is the first one after the first that is free (block affinity: hosts' blocks stay together).
    const totals = mine.map((b) => Object.keys(b.allocations).length).sort((a, b) => a - b);
    expect(totals[0]! + totals[1]!).toBe(20);
  });

  it('finds a free block among many taken ones, listing the blocks when probing does not', async () => {
    const h2 = ipamOn('h2');
    // 64 blocks of 4 addresses; h2 takes 160 addresses, so 40 blocks or more.
    const { poolId } = await h2.requestPool(poolRequest({ ranges: [{ subnet: '10.75.0.0/24' }], options: { blockPrefix: 30 } }));
    await Promise.all(Array.from({ length: 160 }, (_, i) => h2.requestAddress({ poolId, owner: owner(`b${i}`), newOwner: true })));
    const { store, lists } = countingStore(cluster, 'h1');
    const h1 = new GlobalIpam({ globalStore: store });
    await h1.requestPool(poolRequest());
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => h1.requestAddress({ poolId, owner: owner(`a${i}`), newOwner: true })));
    expect(new Set(got.map((g) => g.address)).size).toBe(40);
    const mine = blocksOf('h1');
    for (const g of got) expect(mine.some((b) => inCidr(g.address, b.cidr))).toBe(true);
    expect(blocksOf('h2').some((b) => mine.some((m) => m.cidr === b.cidr))).toBe(false);
    // h1 starts (by its name's hash) inside h2's run of blocks: probing gives up once, and one listing follows.
    expect(lists()).toBe(1);
  });

  it('fails with SWY_ERR_POOL_EXHAUSTED when the host’s blocks are full and no block is free, writing nothing', async () => {
    const h1 = ipamOn('h1');
    const h2 = ipamOn('h2');
    // A /28 in two /29s: one block each.
    const { poolId } = await h1.requestPool(poolRequest({ ranges: [{ subnet: '10.80.0.0/28' }], options: { blockPrefix: 29 } }));
    await h2.requestPool(poolRequest());
    await h2.requestAddress({ poolId, owner: owner('b0') });
    const got = [];
    for (;;) {
      try {
        got.push((await h1.requestAddress({ poolId, owner: owner(`a${got.length}`), newOwner: true })).address);
      } catch (e) {
        expectCoded(e as never, 'SWY_ERR_POOL_EXHAUSTED', '10.80.0.0/28');
        break;
      }
    }
    // 10.80.0.0/29 holds 6 (not .0 or the gateway .1); 10.80.0.8/29 holds 7 (not the broadcast .15).
    expect(got.length === 6 || got.length === 7).toBe(true);
    expect(got).not.toContain('10.80.0.0/28');
    expect(got).not.toContain('10.80.0.1/28');
    expect(got).not.toContain('10.80.0.15/28');
    const before = ipamDocs(cluster);
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('late') })), 'SWY_ERR_POOL_EXHAUSTED');
    expect(ipamDocs(cluster)).toEqual(before);
    // h2 still has room in its own block.
    expect((await h2.requestAddress({ poolId, owner: owner('b1') })).address).toMatch(/^10\.80\.0\./);
  });

  it('hands out a requested address from the host’s block or a free one, never from another host’s', async () => {
    const h1 = ipamOn('h1');
    const h2 = ipamOn('h2');
    const { poolId } = await h1.requestPool(poolRequest({ ranges: [{ subnet: '10.90.0.0/24' }], options: { blockPrefix: 26 } }));
    await h2.requestPool(poolRequest());
    expect(await h1.requestAddress({ poolId, owner: owner('s1'), address: '10.90.0.200' })).toEqual({ address: '10.90.0.200/24', gateway: '10.90.0.1' });
    expect(cluster.read<BlockDoc>(BLOCKS_COLLECTION, 'web.v4.10.90.0.192')).toMatchObject({ host: 'h1', cidr: '10.90.0.192/26' });
    // Asking again: the same; another owner: in use; another host: the block is h1's.
    expect(await h1.requestAddress({ poolId, owner: owner('s1'), address: '10.90.0.200' })).toEqual({ address: '10.90.0.200/24', gateway: '10.90.0.1' });
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('s2'), address: '10.90.0.200' })), 'SWY_ERR_ADDRESS_IN_USE', 's1');
    expectCoded(await caught(() => h2.requestAddress({ poolId, owner: owner('s3'), address: '10.90.0.201' })), 'SWY_ERR_ADDRESS_IN_USE', 'h1');
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('s1'), address: '10.90.0.202' })), 'SWY_ERR_ADDRESS_IN_USE', '10.90.0.200');
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('s4'), address: '10.90.0.1' })), 'SWY_ERR_ADDRESS_IN_USE', 'gateway');
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('s4'), address: '10.90.0.255' })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', 'broadcast');
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('s4'), address: '10.90.0.0' })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', 'network');
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('s4'), address: '10.91.0.5' })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', '10.90.0.0/24');
    // One failing call of a batch does not fail the others.
    const results = await Promise.allSettled([h1.requestAddress({ poolId, owner: owner('s5'), address: '10.90.0.200' }), h1.requestAddress({ poolId, owner: owner('s6'), address: '10.90.0.210' })]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  });

  it('releases addresses by address and by owner, re-uses them, and keeps an emptied block', async () => {
    const h1 = ipamOn('h1');
    const { poolId } = await h1.requestPool(poolRequest({ ranges: [{ subnet: '10.100.0.0/24' }], options: { blockPrefix: 26 } }));
    const a = await h1.requestAddress({ poolId, owner: owner('c1') });
    const b = await h1.requestAddress({ poolId, owner: owner('c2') });
    await h1.releaseAddress(poolId, a.address);
    expect((await h1.requestAddress({ poolId, owner: owner('c3') })).address).toBe(a.address);
    await h1.releaseOwner(poolId, owner('c2'));
    await h1.releaseOwner(poolId, owner('c3'));
    // Already free, unknown, outside the pool: nothing to do.
    await h1.releaseOwner(poolId, owner('ghost'));
    await h1.releaseAddress(poolId, b.address.split('/')[0]!);
    await h1.releaseAddress(poolId, '192.0.2.1');
    await h1.releaseAddress('nope.v4', '10.100.0.5');
    const [block] = blocksOf('h1');
    expect(block?.allocations).toEqual({});
    // Released by another process of the same host, which never saw the allocation.
    const c = await h1.requestAddress({ poolId, owner: owner('c4') });
    await ipamOn('h1').releaseOwner(poolId, owner('c4'));
    expect(blocksOf('h1')[0]?.allocations).toEqual({});
    expect((await h1.requestAddress({ poolId, owner: owner('c5') })).address).toBe(c.address);
  });

  it('returns an expired host’s blocks and addresses to the pool', async () => {
    const h1 = ipamOn('h1');
    const h2 = ipamOn('h2');
    const { poolId } = await h1.requestPool(poolRequest({ ranges: [{ subnet: '10.110.0.0/28' }], options: { blockPrefix: 29 } }));
    await h2.requestPool(poolRequest());
    const held = await h1.requestAddress({ poolId, owner: owner('c1'), address: '10.110.0.9' });
    await h2.requestAddress({ poolId, owner: owner('d1'), address: '10.110.0.2' });
    expectCoded(await caught(() => h2.requestAddress({ poolId, owner: owner('d2'), address: '10.110.0.10' })), 'SWY_ERR_ADDRESS_IN_USE', 'h1');
    cluster.expire('h1');
    expect(blocksOf('h1')).toEqual([]);
    expect(Object.keys(ipamDocs(cluster).members)).toEqual(['web.v4@h2']);
    // h2 fills its block, then takes over h1's old one, address included.
    expect(await h2.requestAddress({ poolId, owner: owner('d2'), address: held.address.split('/')[0]! })).toEqual(held);
    expect(
      blocksOf('h2')
        .map((b) => b.cidr)
        .sort(),
    ).toEqual(['10.110.0.0/29', '10.110.0.8/29']);
    // h1's agent comes back: everything is h2's now, until h2 leaves the pool (h1 joins it again first, or
    // h2 would be the last member and delete the pool).
    cluster.join('h1', '192.0.2.1');
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('c2') })), 'SWY_ERR_POOL_EXHAUSTED');
    await h1.requestPool(poolRequest());
    await h2.releasePool(poolId);
    expect((await h1.requestAddress({ poolId, owner: owner('c2') })).address).toMatch(/^10\.110\.0\./);
    expect(blocksOf('h1')).toHaveLength(1);
  });

  it('lets a process whose host’s lease expired and came back claim a block and its membership again', async () => {
    const h1 = ipamOn('h1');
    const { poolId } = await h1.requestPool(poolRequest());
    const first = await h1.requestAddress({ poolId, owner: owner('c1') });
    cluster.expire('h1');
    cluster.join('h1', '192.0.2.1');
    expect(ipamDocs(cluster).members).toEqual({});
    // The process still caches the old block; the transaction finds it gone and claims one again.
    expect(await h1.requestAddress({ poolId, owner: owner('c2') })).toEqual(first);
    expect(blocksOf('h1')).toHaveLength(1);
    expect(Object.keys(ipamDocs(cluster).members)).toEqual(['web.v4@h1']);
  });

  it('deletes the host’s blocks and membership on releasePool, and the pool with its last member', async () => {
    const h1 = ipamOn('h1');
    const h2 = ipamOn('h2');
    const { poolId } = await h1.requestPool(poolRequest());
    await h2.requestPool(poolRequest());
    await h1.requestAddress({ poolId, owner: owner('c1') });
    await h2.requestAddress({ poolId, owner: owner('d1') });
    await h1.releasePool(poolId);
    let docs = ipamDocs(cluster);
    expect(Object.keys(docs.pools)).toEqual(['web.v4']);
    expect(Object.keys(docs.members)).toEqual(['web.v4@h2']);
    expect(Object.values(docs.blocks).map((b) => b.host)).toEqual(['h2']);
    await h2.releasePool(poolId);
    docs = ipamDocs(cluster);
    expect(docs).toEqual({ pools: {}, members: {}, blocks: {} });
    await h2.releasePool(poolId);
    expectCoded(await caught(() => h1.requestAddress({ poolId, owner: owner('c1') })), 'SWY_ERR_POOL_NOT_FOUND');
  });

  it('gives each host one subnet of its own in host-subnet mode', async () => {
    const h1 = ipamOn('h1');
    const h2 = ipamOn('h2');
    const p1 = await h1.requestPool(poolRequest({ options: { mode: 'host-subnet' } }));
    const p2 = await h2.requestPool(poolRequest());
    expect(p1.poolId).toBe('web.v4');
    expect(p2.poolId).toBe('web.v4');
    expect(ipamDocs(cluster).pools['web.v4']).toEqual({ network: 'web', family: 4, subnet: '10.200.0.0/16', blockPrefix: 24, mode: 'host-subnet' });
    expect(p1.subnet).toMatch(/^10\.200\.\d+\.0\/24$/);
    expect(p2.subnet).toMatch(/^10\.200\.\d+\.0\/24$/);
    expect(p1.subnet).not.toBe(p2.subnet);
    expect(p1.gateway).toBe(p1.subnet.replace('.0/24', '.1'));
    expect(p2.gateway).toBe(p2.subnet.replace('.0/24', '.1'));
    // Asking again (another process too) keeps the block.
    expect(await ipamOn('h1').requestPool(poolRequest())).toEqual(p1);
    expect(blocksOf('h1')).toHaveLength(1);
    // A new process (the CLI's) finds the host's block by probing, without listing every block.
    const { store, lists } = countingStore(cluster, 'h1');
    const a = await new GlobalIpam({ globalStore: store }).requestAddress({ poolId: p1.poolId, owner: owner('c1'), newOwner: true });
    expect(a).toEqual({ address: p1.subnet.replace('.0/24', '.2/24'), gateway: p1.gateway });
    expect(lists()).toBe(0);
    const b = await h2.requestAddress({ poolId: p2.poolId, owner: owner('d1') });
    expect(b).toEqual({ address: p2.subnet.replace('.0/24', '.2/24'), gateway: p2.gateway });
    expectCoded(await caught(() => h1.requestAddress({ poolId: p1.poolId, owner: owner('c2'), address: p2.subnet.replace('.0/24', '.9') })), 'SWY_ERR_ADDRESS_IN_USE', 'h2');
    expectCoded(await caught(() => h1.requestAddress({ poolId: p1.poolId, owner: owner('c2'), address: '10.200.250.9' })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', p1.subnet);
    expectCoded(await caught(() => h1.requestAddress({ poolId: p1.poolId, owner: owner('c2'), address: p1.gateway! })), 'SWY_ERR_ADDRESS_IN_USE', 'gateway');
    expectCoded(await caught(() => h1.requestAddress({ poolId: p1.poolId, owner: owner('c2'), address: p1.subnet.replace('.0/24', '.255') })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', 'broadcast');
    // The host's subnet fills up: 253 addresses (not .0, .1 or .255), then exhausted rather than a second block.
    for (let i = 0; i < 252; i++) await h1.requestAddress({ poolId: p1.poolId, owner: owner(`f${i}`), newOwner: true });
    expectCoded(await caught(() => h1.requestAddress({ poolId: p1.poolId, owner: owner('late') })), 'SWY_ERR_POOL_EXHAUSTED', p1.subnet);
    expect(blocksOf('h1')).toHaveLength(1);
  });

  it('works with IPv6 pools', async () => {
    const ipam = ipamOn('h1');
    const pool = await ipam.requestPool(poolRequest({ family: 6 }));
    expect(pool).toEqual({ poolId: 'web.v6', subnet: 'fd00:5377:1::/64', gateway: 'fd00:5377:1::1' });
    const a = await ipam.requestAddress({ poolId: pool.poolId, owner: owner('c1') });
    expect(a.address).toMatch(/^fd00:5377:1::[0-9a-f:]+\/64$/);
    const [id] = Object.keys(ipamDocs(cluster).blocks);
    expect(id).toMatch(/^web\.v6\.fd00:5377:1::/);
    expect(cluster.read<BlockDoc>(BLOCKS_COLLECTION, id!)?.cidr).toMatch(/\/122$/);
    await ipam.releaseAddress(pool.poolId, a.address);
    expect(Object.values(ipamDocs(cluster).blocks)[0]?.allocations).toEqual({});
  });

  it('gives the same results when the store runs every transaction twice', async () => {
    const stores = ['h1', 'h2'].map((h) => new RerunningStore(cluster.storeFor(h)));
    const [h1, h2] = stores.map((s) => new GlobalIpam({ globalStore: s }));
    const p = await h1!.requestPool(poolRequest({ ranges: [{ subnet: '10.120.0.0/24' }], options: { blockPrefix: 28 } }));
    await h2!.requestPool(poolRequest());
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? h1! : h2!).requestAddress({ poolId: p.poolId, owner: owner(`c${i}`), newOwner: true })));
    expect(new Set(got.map((g) => g.address)).size).toBe(40);
    const docs = ipamDocs(cluster);
    const allocated = Object.values(docs.blocks).flatMap((b) => Object.keys(b.allocations).map((a) => `${a}/24`));
    expect(allocated.sort()).toEqual(got.map((g) => g.address).sort());
    await h1!.releaseOwner(p.poolId, owner('c1'));
    await h1!.releasePool(p.poolId);
    await h2!.releasePool(p.poolId);
    expect(ipamDocs(cluster)).toEqual({ pools: {}, members: {}, blocks: {} });
    expect(stores[0]!.runs).toBeGreaterThan(0);
  });

  it('hands out 3 hosts × 400 addresses, 16 in flight per host, without a duplicate, each from its host’s blocks', async () => {
    const hosts = ['h1', 'h2', 'h3'];
    // Two processes on h1 share its blocks (each with its own cache).
    const ipams = [...hosts.map((h) => ({ host: h, ipam: ipamOn(h) })), { host: 'h1', ipam: ipamOn('h1') }];
    const { poolId } = await ipams[0]!.ipam.requestPool(poolRequest());
    for (const { ipam } of ipams.slice(1)) await ipam.requestPool(poolRequest());
    const perProcess = [400, 400, 400, 200];
    const results: Array<{ host: string; address: string }> = [];
    const started = process.hrtime.bigint();
    await Promise.all(
      ipams.map(async ({ host, ipam }, p) => {
        let next = 0;
        const worker = async () => {
          while (next < perProcess[p]!) {
            const i = next++;
            const got = await ipam.requestAddress({ poolId, owner: owner(`${host}-${p}-${i}`), newOwner: true });
            results.push({ host, address: got.address });
          }
        };
        await Promise.all(Array.from({ length: 16 }, worker));
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    console.log(`global IPAM on MemoryCluster: ${results.length} allocations in ${seconds.toFixed(3)} s = ${Math.round(results.length / seconds)}/s`);
    expect(results).toHaveLength(1400);
    expect(new Set(results.map((r) => r.address)).size).toBe(1400);
    const blocks = Object.values(ipamDocs(cluster).blocks);
    for (const { host, address } of results) {
      expect(address.endsWith('/16')).toBe(true);
      const holder = blocks.find((b) => inCidr(address, b.cidr));
      expect(holder?.host).toBe(host);
      expect(holder?.allocations[address.split('/')[0]!]).toBeDefined();
    }
    // Blocks never overlap and every allocation in them was handed out.
    expect(new Set(blocks.map((b) => b.cidr)).size).toBe(blocks.length);
    expect(blocks.reduce((n, b) => n + Object.keys(b.allocations).length, 0)).toBe(1400);
    // h1's two processes share its blocks: ~600 addresses need ~10 /26s, not one set per process.
    expect(blocks.filter((b) => b.host === 'h1').length).toBeLessThanOrEqual(12);
  });

  it('keeps its documents in the named collections', () => {
    expect([POOLS_COLLECTION, MEMBERS_COLLECTION, BLOCKS_COLLECTION]).toEqual(['plugin:ipam-global.pools', 'plugin:ipam-global.members', 'plugin:ipam-global.blocks']);
  });
});
