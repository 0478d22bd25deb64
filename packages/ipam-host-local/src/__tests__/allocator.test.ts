import { RangeSetAllocator } from '../allocator.js';
import { MemoryAllocationStore } from '../memory-store.js';
import { parseRangeSet } from '../range.js';
import type { IpamRangeConfig } from '@switchyard/core';
import { caught, expectCoded } from './helpers.js';

function setup(ranges: IpamRangeConfig[], setIndex = 0) {
  const store = new MemoryAllocationStore();
  const allocator = new RangeSetAllocator(parseRangeSet(ranges), setIndex, store, 'network test');
  const allocate = (id: string, requested?: string, ifname = 'eth0') => store.locked(() => allocator.allocate({ id, ifname }, requested));
  const release = (id: string, ifname = 'eth0') => store.locked(() => allocator.releaseOwner({ id, ifname }));
  return { store, allocator, allocate, release };
}

/** A store that counts the owner lookups (a directory scan for the disk store, in a process that has not seen the files). */
class CountingStore extends MemoryAllocationStore {
  lookups = 0;
  override async addressesOf(...args: Parameters<MemoryAllocationStore['addressesOf']>): Promise<string[]> {
    this.lookups++;
    return super.addressesOf(...args);
  }
}

describe('RangeSetAllocator', () => {
  it('looks up what an owner holds unless the caller says the owner is new; a new owner still gets the next free address', async () => {
    const store = new CountingStore();
    const allocator = new RangeSetAllocator(parseRangeSet([{ subnet: '10.1.0.0/29' }]), 0, store, 'network test');
    await store.locked(() => allocator.allocate({ id: 'old', ifname: 'eth0' }));
    expect(store.lookups).toBe(1);
    const fresh = await store.locked(() => allocator.allocate({ id: 'fresh', ifname: 'eth0' }, undefined, true));
    const fixed = await store.locked(() => allocator.allocate({ id: 'fixed', ifname: 'eth0' }, '10.1.0.6', true));
    expect([fresh.address, fixed.address, store.lookups]).toEqual(['10.1.0.3', '10.1.0.6', 1]);
    // The same owner asking again (no promise) finds what it holds.
    expect((await store.locked(() => allocator.allocate({ id: 'fresh', ifname: 'eth0' }))).address).toBe('10.1.0.3');
    expect(store.lookups).toBe(2);
  });

  it('hands out addresses in order from the range start, skipping the gateway', async () => {
    const { allocate } = setup([{ subnet: '10.1.0.0/29' }]);
    const got = [];
    for (const id of ['a', 'b', 'c']) got.push((await allocate(id)).cidr);
    expect(got).toEqual(['10.1.0.2/29', '10.1.0.3/29', '10.1.0.4/29']);
    expect((await allocate('d')).gateway).toBe('10.1.0.1');
  });

  it('fills a /29 and then fails with SWY_ERR_POOL_EXHAUSTED naming the range', async () => {
    const { allocate } = setup([{ subnet: '10.1.0.0/29' }]);
    const got = new Set<string>();
    for (let i = 0; i < 5; i++) got.add((await allocate(`c${i}`)).address);
    expect([...got].sort()).toEqual(['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']);
    expectCoded(await caught(() => allocate('one-too-many')), 'SWY_ERR_POOL_EXHAUSTED', '10.1.0.0/29 (10.1.0.1-10.1.0.6)', 'network test');
  });

  it('gives the same owner the same address when it asks again, and another ifname a second one', async () => {
    const { allocate } = setup([{ subnet: '10.1.0.0/24' }]);
    const first = await allocate('ctr');
    const again = await allocate('ctr');
    expect(again.address).toBe(first.address);
    expect(again.created).toBe(false);
    expect((await allocate('ctr', undefined, 'eth1')).address).not.toBe(first.address);
  });

  it('continues round-robin after a release instead of reusing the freed address at once', async () => {
    const { allocate, release } = setup([{ subnet: '10.1.0.0/29' }]);
    await allocate('a'); // .2
    await allocate('b'); // .3
    expect(await release('a')).toEqual(['10.1.0.2']);
    expect((await allocate('c')).address).toBe('10.1.0.4');
  });

  it('wraps around once to reach addresses freed before the last reserved one', async () => {
    const { allocate, release } = setup([{ subnet: '10.1.0.0/29' }]);
    for (const id of ['a', 'b', 'c', 'd', 'e']) await allocate(id); // .2 .. .6
    await release('b'); // frees .3
    expect((await allocate('f')).address).toBe('10.1.0.3');
  });

  it('resumes after last_reserved, and starts over at the range start when it lies outside the set', async () => {
    const { store, allocate } = setup([{ subnet: '10.1.0.0/24' }], 1);
    store.last.set(1, '10.1.0.200');
    expect((await allocate('a')).address).toBe('10.1.0.201');
    expect(store.last.get(1)).toBe('10.1.0.201');
    store.last.set(1, '192.168.9.9');
    expect((await allocate('b')).address).toBe('10.1.0.2');
  });

  it('walks multiple ranges of a set in order and wraps from the last to the first', async () => {
    const { allocate, release } = setup([
      { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.11' },
      { subnet: '10.2.0.0/24', rangeStart: '10.2.0.20', rangeEnd: '10.2.0.21' },
    ]);
    const got = [];
    for (const id of ['a', 'b', 'c', 'd']) got.push((await allocate(id)).cidr);
    expect(got).toEqual(['10.1.0.10/24', '10.1.0.11/24', '10.2.0.20/24', '10.2.0.21/24']);
    await release('a');
    const e = await allocate('e');
    expect(e.cidr).toBe('10.1.0.10/24');
    expect(e.gateway).toBe('10.1.0.1');
  });

  it('never hands out a gateway that lies inside another range of the set', async () => {
    const { allocate } = setup([
      { subnet: '10.1.0.0/24', rangeStart: '10.1.0.2', rangeEnd: '10.1.0.3', gateway: '10.1.0.10' },
      { subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.11', gateway: '10.1.0.1' },
    ]);
    const got = [];
    for (const id of ['a', 'b', 'c']) got.push((await allocate(id)).address);
    expect(got).toEqual(['10.1.0.2', '10.1.0.3', '10.1.0.11']);
  });

  it('allocates IPv6 addresses in canonical form', async () => {
    const { allocate } = setup([{ subnet: 'fd00:1::/64' }]);
    expect((await allocate('a')).cidr).toBe('fd00:1::2/64');
    expect((await allocate('b', 'FD00:1:0:0:0:0:0:AB')).cidr).toBe('fd00:1::ab/64');
  });

  it('gives a requested address when it is free and in range', async () => {
    const { allocate } = setup([{ subnet: '10.1.0.0/24' }]);
    expect((await allocate('a', '10.1.0.77')).cidr).toBe('10.1.0.77/24');
    expect((await allocate('a', '10.1.0.77')).created).toBe(false);
  });

  it('refuses a requested address held by another owner with SWY_ERR_ADDRESS_IN_USE naming the holder', async () => {
    const { allocate } = setup([{ subnet: '10.1.0.0/24' }]);
    await allocate('a', '10.1.0.77');
    expectCoded(await caught(() => allocate('b', '10.1.0.77')), 'SWY_ERR_ADDRESS_IN_USE', '10.1.0.77', 'a/eth0');
  });

  it('refuses the gateway and a second address for the same owner with SWY_ERR_ADDRESS_IN_USE', async () => {
    const { allocate } = setup([{ subnet: '10.1.0.0/24' }]);
    expectCoded(await caught(() => allocate('a', '10.1.0.1')), 'SWY_ERR_ADDRESS_IN_USE', 'gateway');
    await allocate('a');
    expectCoded(await caught(() => allocate('a', '10.1.0.50')), 'SWY_ERR_ADDRESS_IN_USE', '10.1.0.2', '10.1.0.50');
  });

  it('refuses a requested address outside the ranges with SWY_ERR_ADDRESS_OUT_OF_RANGE', async () => {
    const { allocate } = setup([{ subnet: '10.1.0.0/24', rangeStart: '10.1.0.10', rangeEnd: '10.1.0.20' }]);
    expectCoded(await caught(() => allocate('a', '10.1.0.21')), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', '10.1.0.21', '10.1.0.10-10.1.0.20');
    expectCoded(await caught(() => allocate('a', 'fd00::1')), 'SWY_ERR_ADDRESS_OUT_OF_RANGE', 'fd00::1');
  });

  it('releases one address, with or without prefix, only when it belongs to the set', async () => {
    const { allocator, store, allocate } = setup([{ subnet: '10.1.0.0/24' }]);
    await allocate('a');
    await allocate('b');
    expect(await store.locked(() => allocator.releaseAddress('10.1.0.2/24'))).toBe(true);
    expect(await store.locked(() => allocator.releaseAddress('10.1.0.2'))).toBe(false);
    expect(await store.addresses()).toEqual(['10.1.0.3']);
  });
});
