import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostLocalAllocator } from '../host-local-allocator.js';
import { caught, expectCoded, snapshot, tempDir } from './helpers.js';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.cleanup());

const owner = (id: string) => ({ id, ifname: 'eth0' });

describe('HostLocalAllocator (CNI config form)', () => {
  it('accepts the legacy single-subnet form as range set 0', async () => {
    const a = HostLocalAllocator.fromCniConfig({ name: 'legacy', ipam: { type: 'host-local', subnet: '10.5.0.0/24', rangeStart: '10.5.0.100', gateway: '10.5.0.254', dataDir: dir.path } });
    const [got] = await a.allocate(owner('c1'));
    expect(got).toMatchObject({ setIndex: 0, cidr: '10.5.0.100/24', gateway: '10.5.0.254' });
    expect(readFileSync(join(dir.path, 'legacy', 'last_reserved_ip.0'), 'latin1')).toBe('10.5.0.100');
  });

  it('gives one address per range set for a dual-stack ranges config', async () => {
    const a = HostLocalAllocator.fromCniConfig({ name: 'dual', ipam: { ranges: [[{ subnet: '10.5.0.0/24' }], [{ subnet: 'fd00:5::/64' }]], dataDir: dir.path } });
    const got = await a.allocate(owner('c1'));
    expect(got.map((g) => [g.setIndex, g.cidr])).toEqual([
      [0, '10.5.0.2/24'],
      [1, 'fd00:5::2/64'],
    ]);
    expect(readdirSync(join(dir.path, 'dual')).sort()).toEqual(['10.5.0.2', 'fd00:5::2', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
  });

  it('puts the legacy range before the ranges sets, as CNI does', async () => {
    const a = HostLocalAllocator.fromCniConfig({ name: 'both', ipam: { subnet: '10.6.0.0/24', ranges: [[{ subnet: 'fd00:6::/64' }]], dataDir: dir.path } });
    expect(a.sets.map((s) => s.family)).toEqual([4, 6]);
  });

  it('places requested addresses in the set that holds them', async () => {
    const a = HostLocalAllocator.fromCniConfig({ name: 'req', ipam: { ranges: [[{ subnet: '10.5.0.0/24' }], [{ subnet: 'fd00:5::/64' }]], dataDir: dir.path } });
    const got = await a.allocate(owner('c1'), ['fd00:5::99']);
    expect(got.map((g) => g.address)).toEqual(['10.5.0.2', 'fd00:5::99']);
    expectCoded(await caught(() => a.allocate(owner('c2'), ['10.9.9.9'])), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', '10.9.9.9');
  });

  it('allocates all sets or none: a failure in set 1 releases what set 0 took', async () => {
    const a = HostLocalAllocator.fromCniConfig({ name: 'atomic', ipam: { ranges: [[{ subnet: '10.5.0.0/24' }], [{ subnet: 'fd00:5::/64' }]], dataDir: dir.path } });
    await a.allocate(owner('holder'), ['fd00:5::7']);
    const before = snapshot(dir.path);
    expectCoded(await caught(() => a.allocate(owner('c2'), ['fd00:5::7'])), 'SWY_ERR_ADDRESS_IN_USE', 'fd00:5::7', 'holder');
    expect(existsSync(join(dir.path, 'atomic', '10.5.0.3'))).toBe(false);
    const after = snapshot(dir.path);
    delete before['atomic/last_reserved_ip.0'];
    delete after['atomic/last_reserved_ip.0'];
    expect(after).toEqual(before);
  });

  it('releases everything an owner holds (CNI DEL) and is idempotent', async () => {
    const a = HostLocalAllocator.fromCniConfig({ name: 'del', ipam: { ranges: [[{ subnet: '10.5.0.0/24' }], [{ subnet: 'fd00:5::/64' }]], dataDir: dir.path } });
    await a.allocate(owner('c1'));
    expect((await a.release(owner('c1'))).sort()).toEqual(['10.5.0.2', 'fd00:5::2']);
    expect(await a.release(owner('c1'))).toEqual([]);
  });

  it('rejects range sets that overlap each other with SWY_ERR_POOL_OVERLAP', async () => {
    const e = await caught(() => HostLocalAllocator.fromCniConfig({ name: 'x', ipam: { ranges: [[{ subnet: '10.5.0.0/24' }], [{ subnet: '10.5.0.0/25' }]], dataDir: dir.path } }));
    expectCoded(e, 'SWY_ERR_POOL_OVERLAP', '10.5.0.0/25');
  });

  it('rejects a config with no range or no ipam, touching no file', async () => {
    expectCoded(await caught(() => HostLocalAllocator.fromCniConfig({ name: 'x', ipam: { dataDir: dir.path } })), 'SWY_ERR_RANGE_INVALID', 'no IP range');
    expectCoded(await caught(() => HostLocalAllocator.fromCniConfig({ name: 'x' } as never)), 'SWY_ERR_RANGE_INVALID', 'ipam');
    expectCoded(await caught(() => HostLocalAllocator.fromCniConfig({ name: 'x', ipam: { ranges: [{ subnet: '10.0.0.0/24' }] as never, dataDir: dir.path } })), 'SWY_ERR_RANGE_INVALID', 'array of range sets');
    expect(readdirSync(dir.path)).toEqual([]);
  });
});
