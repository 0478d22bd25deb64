import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PoolRequest } from '@switchyard/core';
import { HostLocalIpam } from '../host-local-ipam.js';
import manifest from '../index.js';
import { caught, expectCoded, snapshot, tempDir } from './helpers.js';

let dir: ReturnType<typeof tempDir>;
let ipam: HostLocalIpam;
beforeEach(() => {
  dir = tempDir();
  ipam = new HostLocalIpam({ dataDir: join(dir.path, 'ipam') });
});
afterEach(() => dir.cleanup());

const request = (over: Partial<PoolRequest> = {}): PoolRequest => ({ networkId: 'id-net1', networkName: 'net1', family: 4, ranges: [], exclude: [], options: {}, ...over });
const owner = (id: string, ifname = 'eth0') => ({ id, ifname });

describe('HostLocalIpam', () => {
  it('is what the default export manifest creates, keeping data in the state directory the registry gives it', async () => {
    expect(manifest).toMatchObject({ kind: 'ipam', apiVersion: 1, name: 'host-local', version: '0.1.0' });
    const created = await manifest.create({ stateDir: join(dir.path, 'plugin-state') } as never);
    expect(created).toBeInstanceOf(HostLocalIpam);
    const pool = await created.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }] }));
    await created.requestAddress({ poolId: pool.poolId, owner: owner('c1') });
    expect(readdirSync(join(dir.path, 'plugin-state', 'net1'))).toContain('10.1.0.2');
  });

  it('returns the subnet and default gateway of a pool, and addresses with prefix', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }] }));
    expect(pool).toMatchObject({ subnet: '10.1.0.0/24', gateway: '10.1.0.1' });
    expect(await ipam.requestAddress({ poolId: pool.poolId, owner: owner('c1') })).toEqual({ address: '10.1.0.2/24', gateway: '10.1.0.1' });
  });

  it('allocates from an ipRange with a custom gateway', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24', ipRange: '10.1.0.128/26', gateway: '10.1.0.254' }] }));
    expect(pool.gateway).toBe('10.1.0.254');
    expect((await ipam.requestAddress({ poolId: pool.poolId, owner: owner('c1') })).address).toBe('10.1.0.128/24');
  });

  it('takes a static address outside the ipRange but inside the subnet, as docker network create --ip-range does, and never hands one out unasked', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24', ipRange: '10.1.0.128/30' }] }));
    expect((await ipam.requestAddress({ poolId: pool.poolId, owner: owner('static'), address: '10.1.0.20' })).address).toBe('10.1.0.20/24');
    // The same owner asking again gets the same address (the pool knows the address is its own).
    expect((await ipam.requestAddress({ poolId: pool.poolId, owner: owner('static'), address: '10.1.0.20' })).address).toBe('10.1.0.20/24');
    const handed = [];
    for (const id of ['a', 'b', 'c', 'd']) handed.push((await ipam.requestAddress({ poolId: pool.poolId, owner: owner(id) })).address);
    expect(handed).toEqual(['10.1.0.128/24', '10.1.0.129/24', '10.1.0.130/24', '10.1.0.131/24']);
    expectCoded(await caught(() => ipam.requestAddress({ poolId: pool.poolId, owner: owner('e') })), 'SWY_ERR_POOL_EXHAUSTED');
    // Outside the subnet, its broadcast address and the gateway stay refused.
    expectCoded(await caught(() => ipam.requestAddress({ poolId: pool.poolId, owner: owner('f'), address: '10.1.1.5' })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE');
    expectCoded(await caught(() => ipam.requestAddress({ poolId: pool.poolId, owner: owner('f'), address: '10.1.0.255' })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE');
    expectCoded(await caught(() => ipam.requestAddress({ poolId: pool.poolId, owner: owner('f'), address: '10.1.0.1' })), 'SWY_ERR_ADDRESS_IN_USE');
    // Released by owner, and by the pool with everything else.
    await ipam.releaseOwner(pool.poolId, owner('static'));
    expect(existsSync(join(dir.path, 'ipam', 'net1', '10.1.0.20'))).toBe(false);
    await ipam.requestAddress({ poolId: pool.poolId, owner: { id: 'id-net1', ifname: 'aux0' }, address: '10.1.0.30' });
    await ipam.releasePool(pool.poolId);
    expect(readdirSync(join(dir.path, 'ipam', 'net1')).filter((f) => f.startsWith('10.'))).toEqual(['10.1.0.128', '10.1.0.129', '10.1.0.130', '10.1.0.131']);
  });

  it('keeps CNI host-local semantics for rangeStart/rangeEnd: a static address outside them is refused', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.100', rangeEnd: '10.1.0.110' }] }));
    expectCoded(await caught(() => ipam.requestAddress({ poolId: pool.poolId, owner: owner('c1'), address: '10.1.0.20' })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE');
  });

  it('allocates across multiple ranges of one pool', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.10' }, { subnet: '10.2.0.0/24' }] }));
    expect(pool.subnet).toBe('10.1.0.0/24');
    const a = await ipam.requestAddress({ poolId: pool.poolId, owner: owner('a') });
    const b = await ipam.requestAddress({ poolId: pool.poolId, owner: owner('b') });
    expect([a, b]).toEqual([
      { address: '10.1.0.10/24', gateway: '10.1.0.1' },
      { address: '10.2.0.2/24', gateway: '10.2.0.1' },
    ]);
  });

  it('uses set 0 for IPv4 and set 1 for IPv6 on a dual-stack network, like CNI ranges [[v4],[v6]]', async () => {
    const v4 = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }] }));
    const v6 = await ipam.requestPool(request({ family: 6, ranges: [{ subnet: 'fd00:1::/64' }] }));
    await ipam.requestAddress({ poolId: v4.poolId, owner: owner('c1') });
    expect(await ipam.requestAddress({ poolId: v6.poolId, owner: owner('c1') })).toEqual({ address: 'fd00:1::2/64', gateway: 'fd00:1::1' });
    expect(readdirSync(join(dir.path, 'ipam', 'net1')).sort()).toEqual(['10.1.0.2', 'fd00:1::2', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  });

  it('uses set 0 for an IPv6-only network', async () => {
    const v6 = await ipam.requestPool(request({ family: 6, ranges: [{ subnet: 'fd00:1::/64' }] }));
    await ipam.requestAddress({ poolId: v6.poolId, owner: owner('c1') });
    expect(readdirSync(join(dir.path, 'ipam', 'net1'))).toContain('last_reserved_ip.0');
  });

  it('picks a free default pool for each family when the network gives no subnet', async () => {
    const v4 = await ipam.requestPool(request({ exclude: ['172.17.0.0/16', '10.0.2.0/24'] }));
    expect(v4).toMatchObject({ subnet: '172.18.0.0/16', gateway: '172.18.0.1' });
    const other = await ipam.requestPool(request({ networkId: 'id-net2', networkName: 'net2', exclude: ['172.17.0.0/16'] }));
    expect(other.subnet).toBe('172.19.0.0/16');
    const v6 = await ipam.requestPool(request({ family: 6, ranges: [{}] }));
    expect(v6.subnet).toBe('fd00:5377::/64');
  });

  it('refuses a subnet that overlaps an excluded CIDR or another network with SWY_ERR_POOL_OVERLAP', async () => {
    expectCoded(await caught(() => ipam.requestPool(request({ ranges: [{ subnet: '10.0.2.0/23' }], exclude: ['10.0.2.0/24'] }))), 'SWY_ERR_POOL_OVERLAP', '10.0.2.0/23', '10.0.2.0/24');
    await ipam.requestPool(request({ ranges: [{ subnet: '10.9.0.0/16' }] }));
    expectCoded(await caught(() => ipam.requestPool(request({ networkId: 'id-net2', networkName: 'net2', ranges: [{ subnet: '10.9.3.0/24' }] }))), 'SWY_ERR_POOL_OVERLAP', '10.9.0.0/16');
  });

  it('refuses ranges of the wrong family and a relative dataDir option', async () => {
    expectCoded(await caught(() => ipam.requestPool(request({ family: 6, ranges: [{ subnet: '10.1.0.0/24' }] }))), 'SWY_ERR_RANGE_INVALID', 'IPv6');
    expectCoded(await caught(() => ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }], options: { dataDir: 'relative/dir' } }))), 'SWY_ERR_INVALID_OPTION', 'relative/dir');
  });

  it('leaves the data directory unchanged when a request is bad', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/29' }] }));
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('a') });
    const before = snapshot(dir.path);
    const bad = [
      () => ipam.requestPool(request({ networkName: 'net2', ranges: [{ subnet: '10.2.0.0/32' }] })),
      () => ipam.requestPool(request({ networkName: 'net2', ranges: [{ subnet: '10.2.0.0/24', rangeStart: '10.3.0.1' }] })),
      () => ipam.requestPool(request({ networkName: 'bad/name', ranges: [{ subnet: '10.2.0.0/24' }] })),
      () => ipam.requestAddress({ poolId: pool.poolId, owner: owner('b'), address: '10.1.0.2' }),
      () => ipam.requestAddress({ poolId: pool.poolId, owner: owner('b'), address: '10.1.0.99' }),
      () => ipam.requestAddress({ poolId: pool.poolId, owner: owner('b'), address: 'nonsense' }),
      () => ipam.requestAddress({ poolId: pool.poolId, owner: owner('b\r\nevil') }),
      () => ipam.requestAddress({ poolId: 'host-local/net1/0/garbage', owner: owner('b') }),
      () => ipam.releaseAddress(pool.poolId, 'nonsense'),
    ];
    for (const call of bad) await caught(call);
    expect(snapshot(dir.path)).toEqual(before);
  });

  it('fills a /29 and then fails with SWY_ERR_POOL_EXHAUSTED', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/29' }] }));
    for (let i = 0; i < 5; i++) await ipam.requestAddress({ poolId: pool.poolId, owner: owner(`c${i}`) });
    expectCoded(await caught(() => ipam.requestAddress({ poolId: pool.poolId, owner: owner('c5') })), 'SWY_ERR_POOL_EXHAUSTED', '10.1.0.0/29', 'net1');
  });

  it('gives a static address once, and the same owner the same address again', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }] }));
    expect((await ipam.requestAddress({ poolId: pool.poolId, owner: owner('a'), address: '10.1.0.50' })).address).toBe('10.1.0.50/24');
    expect((await ipam.requestAddress({ poolId: pool.poolId, owner: owner('a') })).address).toBe('10.1.0.50/24');
    expectCoded(await caught(() => ipam.requestAddress({ poolId: pool.poolId, owner: owner('b'), address: '10.1.0.50' })), 'SWY_ERR_ADDRESS_IN_USE', '10.1.0.50');
    expectCoded(await caught(() => ipam.requestAddress({ poolId: pool.poolId, owner: owner('b'), address: '10.1.1.50' })), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', '10.1.1.50');
  });

  it('keeps round-robin going after a release', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }] }));
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('a') });
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('b') });
    await ipam.releaseOwner(pool.poolId, owner('a'));
    expect((await ipam.requestAddress({ poolId: pool.poolId, owner: owner('c') })).address).toBe('10.1.0.4/24');
  });

  it('releases addresses with or without prefix, and owners, idempotently', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }] }));
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('a') });
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('b') });
    await ipam.releaseAddress(pool.poolId, '10.1.0.2/24');
    await ipam.releaseAddress(pool.poolId, '10.1.0.2');
    await ipam.releaseOwner(pool.poolId, owner('b'));
    await ipam.releaseOwner(pool.poolId, owner('b'));
    expect(readdirSync(join(dir.path, 'ipam', 'net1')).filter((n) => n.startsWith('10.'))).toEqual([]);
  });

  it('releases only what the pool covers: a v4 release leaves the v6 pool of the same network alone', async () => {
    const v4 = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }] }));
    const v6 = await ipam.requestPool(request({ family: 6, ranges: [{ subnet: 'fd00:1::/64' }] }));
    await ipam.requestAddress({ poolId: v4.poolId, owner: owner('a') });
    await ipam.requestAddress({ poolId: v6.poolId, owner: owner('a') });
    await ipam.releaseOwner(v4.poolId, owner('a'));
    await ipam.releaseAddress(v4.poolId, 'fd00:1::2');
    expect(readdirSync(join(dir.path, 'ipam', 'net1'))).toContain('fd00:1::2');
    await ipam.releasePool(v4.poolId);
    expect(readdirSync(join(dir.path, 'ipam', 'net1')).sort()).toEqual(['fd00:1::2', 'last_reserved_ip.1', 'lock']);
  });

  it('releasePool removes the addresses the network reserved and last_reserved, never another owner’s (CNI’s in a shared dataDir), and can run twice', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20' }] }));
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('id-net1', 'reserved0') });
    // CNI's own host-local allocated for its containers in the same directory: inside the range and outside it.
    writeFileSync(join(dir.path, 'ipam', 'net1', '10.1.0.15'), 'cni-ctr\r\neth0');
    writeFileSync(join(dir.path, 'ipam', 'net1', '10.1.0.200'), 'cni-ctr2\r\neth0');
    await ipam.releasePool(pool.poolId);
    await ipam.releasePool(pool.poolId);
    expect(readdirSync(join(dir.path, 'ipam', 'net1')).sort()).toEqual(['10.1.0.15', '10.1.0.200', 'lock']);
    expect(existsSync(join(dir.path, 'ipam', '.switchyard-index', 'net1'))).toBe(false);
  });

  it('releasePool of a pool id made before network ids were recorded still releases its whole range (old networks keep working)', async () => {
    const pool = await ipam.requestPool(request({ networkId: '', ranges: [{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20' }] }));
    for (const id of ['a', 'b']) await ipam.requestAddress({ poolId: pool.poolId, owner: owner(id) });
    await ipam.releasePool(pool.poolId);
    expect(readdirSync(join(dir.path, 'ipam', 'net1')).sort()).toEqual(['lock']);
  });

  it('keeps allocating from a pool after a restart (a new instance on the same dataDir)', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/24' }] }));
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('a') });
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('b') });
    const restarted = new HostLocalIpam({ dataDir: join(dir.path, 'ipam') });
    expect((await restarted.requestAddress({ poolId: pool.poolId, owner: owner('a') })).address).toBe('10.1.0.2/24');
    expect((await restarted.requestAddress({ poolId: pool.poolId, owner: owner('c') })).address).toBe('10.1.0.4/24');
    await restarted.releaseOwner(pool.poolId, owner('b'));
    expect(
      readdirSync(join(dir.path, 'ipam', 'net1'))
        .filter((n) => n.startsWith('10.'))
        .sort(),
    ).toEqual(['10.1.0.2', '10.1.0.4']);
  });

  it('after a crash, a leftover temp file and a stale index entry neither block nor leak addresses', async () => {
    const pool = await ipam.requestPool(request({ ranges: [{ subnet: '10.1.0.0/29' }] }));
    await ipam.requestAddress({ poolId: pool.poolId, owner: owner('a') }); // .2
    // The crash: a temp file written but never linked, and an index entry whose address file was never created.
    const root = join(dir.path, 'ipam');
    writeFileSync(join(root, '.switchyard-tmp', '999999999.0'), 'ghost\r\neth0');
    const indexDir = join(root, '.switchyard-index', 'net1');
    const [aEntry] = readdirSync(indexDir);
    writeFileSync(join(indexDir, 'ffff.json'), JSON.stringify({ id: 'ghost', ifname: 'eth0', addresses: ['10.1.0.3'] }));
    writeFileSync(join(indexDir, aEntry!), JSON.stringify({ id: 'a', ifname: 'eth0', addresses: ['10.1.0.2', '10.1.0.6'] }));

    const restarted = new HostLocalIpam({ dataDir: root });
    const got = [];
    for (const id of ['b', 'c', 'd', 'e']) got.push((await restarted.requestAddress({ poolId: pool.poolId, owner: owner(id) })).address);
    expect(got).toEqual(['10.1.0.3/29', '10.1.0.4/29', '10.1.0.5/29', '10.1.0.6/29']);
    await restarted.releaseOwner(pool.poolId, owner('a'));
    expect(readdirSync(join(root, 'net1'))).not.toContain('10.1.0.2');
    expect(readFileSync(join(root, 'net1', '10.1.0.6'), 'latin1')).toBe('e\r\neth0');
    expect(readdirSync(join(root, '.switchyard-tmp'))).toEqual([]);
  });

  it('shares a CNI data directory through the dataDir option, seeing addresses CNI recorded', async () => {
    const cniDir = join(dir.path, 'cni-networks');
    mkdirSync(join(cniDir, 'cninet'), { recursive: true });
    writeFileSync(join(cniDir, 'cninet', '10.7.0.2'), 'cni-ctr\r\neth0');
    writeFileSync(join(cniDir, 'cninet', 'last_reserved_ip.0'), '10.7.0.2');
    const pool = await ipam.requestPool(request({ networkName: 'cninet', ranges: [{ subnet: '10.7.0.0/24' }], options: { dataDir: cniDir } }));
    expect((await ipam.requestAddress({ poolId: pool.poolId, owner: owner('mine') })).address).toBe('10.7.0.3/24');
    await ipam.releaseOwner(pool.poolId, owner('cni-ctr'));
    expect(readdirSync(join(cniDir, 'cninet')).sort()).toEqual(['10.7.0.3', 'last_reserved_ip.0', 'lock']);
    expect(existsSync(join(dir.path, 'ipam', 'cninet'))).toBe(false);
  });

  it('refuses a pool id it did not make with SWY_ERR_POOL_NOT_FOUND', async () => {
    expectCoded(await caught(() => ipam.releasePool('default/10.0.0.0/24')), 'SWY_ERR_POOL_NOT_FOUND', 'default/10.0.0.0/24');
    expectCoded(await caught(() => ipam.requestAddress({ poolId: 'host-local/x/0/e30', owner: owner('a') })), 'SWY_ERR_POOL_NOT_FOUND');
  });
});
