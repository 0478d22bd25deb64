import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RangeSetAllocator } from '../allocator.js';
import { DiskAllocationStore } from '../disk-store.js';
import { parseRangeSet } from '../range.js';
import type { IpamRangeConfig } from '@switchyard/core';
import { caught, expectCoded, tempDir } from './helpers.js';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.cleanup());

function setup(ranges: IpamRangeConfig[] = [{ subnet: '10.1.0.0/24' }], setIndex = 0) {
  const store = new DiskAllocationStore({ dataDir: dir.path, network: 'net1' });
  const allocator = new RangeSetAllocator(parseRangeSet(ranges), setIndex, store);
  const allocate = (id: string, requested?: string, ifname = 'eth0') => store.locked(() => allocator.allocate({ id, ifname }, requested));
  const release = (id: string, ifname = 'eth0') => store.locked(() => allocator.releaseOwner({ id, ifname }));
  return { store, allocator, allocate, release, netDir: join(dir.path, 'net1') };
}

/** A pid that no process has (a child that already exited). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid;
}

describe('DiskAllocationStore (CNI host-local layout)', () => {
  it('writes <dataDir>/<network>/<ip> holding "<id>\\r\\n<ifname>" with mode 0600, plus last_reserved_ip.<set> and lock', async () => {
    const { allocate, netDir } = setup([{ subnet: '10.1.0.0/24' }], 1);
    await allocate('  ctr-1 ', undefined, 'eth0');
    expect(readdirSync(netDir).sort()).toEqual(['10.1.0.2', 'last_reserved_ip.1', 'lock']);
    expect(readFileSync(join(netDir, '10.1.0.2'), 'latin1')).toBe('ctr-1\r\neth0');
    expect(statSync(join(netDir, '10.1.0.2')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(netDir, 'last_reserved_ip.1'), 'latin1')).toBe('10.1.0.2');
  });

  it('names IPv6 files in the canonical compressed form', async () => {
    const { allocate, netDir } = setup([{ subnet: 'fd00:0:0:1::/64', rangeStart: 'fd00:0:0:1:0:0:0:a' }]);
    await allocate('a');
    expect(readdirSync(netDir)).toContain('fd00:0:0:1::a');
  });

  it('finds and releases old-format files that hold only the container id', async () => {
    const { allocate, release, netDir } = setup();
    mkdirSync(netDir, { recursive: true });
    writeFileSync(join(netDir, '10.1.0.9'), 'legacy-ctr');
    expect((await allocate('legacy-ctr', undefined, 'eth3')).address).toBe('10.1.0.9');
    expect(await release('legacy-ctr', 'eth7')).toEqual(['10.1.0.9']);
    expect(existsSync(join(netDir, '10.1.0.9'))).toBe(false);
  });

  it('finds files another process wrote without an index entry (a CNI binary) and indexes them', async () => {
    const { allocate, store, netDir } = setup();
    await allocate('mine');
    writeFileSync(join(netDir, '10.1.0.50'), 'theirs\r\neth0');
    expect((await allocate('theirs')).address).toBe('10.1.0.50');
    expect(readdirSync(join(dir.path, '.switchyard-index', 'net1'))).toHaveLength(2);
    expect(await store.locked(() => store.addressesOf({ id: 'theirs', ifname: 'eth0' }))).toEqual(['10.1.0.50']);
  });

  it('ignores and corrects an index entry whose address file is gone or now owned by someone else', async () => {
    const { allocate, store, netDir } = setup();
    await allocate('a'); // .2
    const indexFile = readdirSync(join(dir.path, '.switchyard-index', 'net1'))[0]!;
    const entry = JSON.parse(readFileSync(join(dir.path, '.switchyard-index', 'net1', indexFile), 'utf8'));
    // Simulate a crash after the address file changed hands but before the index was fixed.
    writeFileSync(join(netDir, '10.1.0.2'), 'b\r\neth0');
    writeFileSync(join(dir.path, '.switchyard-index', 'net1', indexFile), JSON.stringify({ ...entry, addresses: ['10.1.0.2', '10.1.0.99'] }));
    const again = await allocate('a');
    expect(again.address).toBe('10.1.0.3');
    expect(await store.locked(() => store.addressesOf({ id: 'a', ifname: 'eth0' }))).toEqual(['10.1.0.3']);
  });

  it('removes temp files left by dead processes when it opens, and they block nothing', async () => {
    const scratch = join(dir.path, '.switchyard-tmp');
    mkdirSync(scratch, { recursive: true });
    const stale = `${deadPid()}.crashed-0`;
    writeFileSync(join(scratch, stale), 'half\r\n');
    const { allocate } = setup();
    expect((await allocate('a')).address).toBe('10.1.0.2');
    expect(readdirSync(scratch)).toEqual([]);
  });

  it('reclaims an empty address file (what a crash of CNI between create and write leaves)', async () => {
    const { allocate, netDir } = setup([{ subnet: '10.1.0.0/29' }]);
    mkdirSync(netDir, { recursive: true });
    for (const ip of ['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5']) writeFileSync(join(netDir, ip), `owner-${ip}\r\neth0`);
    writeFileSync(join(netDir, '10.1.0.6'), '');
    expect((await allocate('new')).address).toBe('10.1.0.6');
    expect(readFileSync(join(netDir, '10.1.0.6'), 'latin1')).toBe('new\r\neth0');
  });

  it('releases by address, checking the owner when one is given', async () => {
    const { allocate, store, netDir } = setup();
    await allocate('a');
    expect(await store.locked(() => store.release('10.1.0.2', { id: 'b', ifname: 'eth0' }))).toBe(false);
    expect(existsSync(join(netDir, '10.1.0.2'))).toBe(true);
    expect(await store.locked(() => store.release('10.1.0.2'))).toBe(true);
    expect(await store.locked(() => store.release('10.1.0.2'))).toBe(false);
    expect(readdirSync(join(dir.path, '.switchyard-index', 'net1'))).toEqual([]);
  });

  it('keeps every Switchyard file out of the network directory', async () => {
    const { allocate, release, netDir } = setup([{ subnet: 'fd00:1::/64' }]);
    for (let i = 0; i < 10; i++) await allocate(`c${i}`);
    await release('c3');
    const names = readdirSync(netDir);
    expect(names.filter((n) => !/^fd00:1::[0-9a-f]+$/.test(n)).sort()).toEqual(['last_reserved_ip.0', 'lock']);
    expect(names).toHaveLength(11);
  });

  it('hands out distinct addresses to concurrent allocations through separate store instances', async () => {
    const a = setup();
    const b = setup();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).allocate(`c${i}`)));
    expect(new Set(results.map((r) => r.address)).size).toBe(40);
    expect(readdirSync(a.netDir).filter((n) => n.startsWith('10.'))).toHaveLength(40);
  });

  it('fills a /24, reports exhaustion, and finds the address another process freed', async () => {
    const { allocate, netDir } = setup([{ subnet: '10.1.0.0/24' }]);
    for (let i = 0; i < 253; i++) await allocate(`c${i}`);
    expectCoded(await caught(() => allocate('late')), 'SWY_ERR_POOL_EXHAUSTED', '10.1.0.0/24');
    unlinkSync(join(netDir, '10.1.0.77')); // a CNI DEL from another process
    expect((await allocate('late')).address).toBe('10.1.0.77');
    expectCoded(await caught(() => allocate('later')), 'SWY_ERR_POOL_EXHAUSTED');
  });

  it('refuses calls made outside locked()', async () => {
    const { store } = setup();
    await expect(store.reserve('10.1.0.2', { id: 'a', ifname: 'eth0' }, 0)).rejects.toThrow(/outside locked/);
  });

  it('refuses a network name that is not a plain directory name with SWY_ERR_INVALID_NAME', async () => {
    for (const network of ['../etc', 'a/b', '.hidden', '']) {
      expectCoded(await caught(() => new DiskAllocationStore({ dataDir: dir.path, network })), 'SWY_ERR_INVALID_NAME');
    }
    expect(readdirSync(dir.path)).toEqual([]);
  });
});
