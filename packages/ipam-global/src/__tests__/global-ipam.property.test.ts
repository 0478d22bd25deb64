import fc from 'fast-check';
import { Address4 } from 'ip-address';
import { SwitchyardError } from '@switchyard/core';
import { MemoryCluster } from '@switchyard/core/testing';
import { GlobalIpam } from '../index.js';
import { RerunningStore, ipamDocs, owner, poolRequest } from './helpers.js';

/**
 * Random concurrent calls from three hosts (two processes on the first) on a small pool, with leases
 * expiring and coming back: after every round the blocks are aligned, disjoint, inside the pool, hold no
 * reserved address; every address a call got is held by its owner in a block of its host unless a call of
 * the same round released it; no allocation disappears without a release; an owner holds one address per host.
 */

const HOSTS = ['h1', 'h2', 'h3'];
const SUBNET = '10.30.0.0/26';
const BLOCK_PREFIX = 29;
const EXPECTED_CODES = ['SWY_ERR_POOL_EXHAUSTED', 'SWY_ERR_ADDRESS_IN_USE', 'SWY_ERR_ADDRESS_OUT_OF_RANGE'];

type Call = { kind: 'request'; process: number; owner: number; offset?: number; newOwner: boolean } | { kind: 'releaseOwner'; process: number; owner: number } | { kind: 'releaseAddress'; process: number; offset: number };

// Processes: 0 and 3 on h1, 1 on h2, 2 on h3.
const hostOf = (process: number): string => HOSTS[process % 3]!;
const call: fc.Arbitrary<Call> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('request' as const), process: fc.nat(3), owner: fc.nat(30), newOwner: fc.constant(false) }) },
  // newOwner is the caller's promise that the owner never held an address: fresh owners only.
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('request' as const), process: fc.nat(3), owner: fc.constant(-1), newOwner: fc.constant(true) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('request' as const), process: fc.nat(3), owner: fc.nat(30), offset: fc.nat(63), newOwner: fc.constant(false) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('releaseOwner' as const), process: fc.nat(3), owner: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('releaseAddress' as const), process: fc.nat(3), offset: fc.nat(63) }) },
);
type Round = { calls: Call[] } | { expire: number };
const round: fc.Arbitrary<Round> = fc.oneof({ weight: 8, arbitrary: fc.array(call, { minLength: 1, maxLength: 12 }).map((calls) => ({ calls })) }, { weight: 1, arbitrary: fc.nat(2).map((expire) => ({ expire })) });

const value = (address: string): bigint => new Address4(address.split('/')[0]!).bigInt();
const pool = new Address4(SUBNET);
const [first, last] = [pool.startAddress().bigInt(), pool.endAddress().bigInt()];

function checkBlocks(cluster: MemoryCluster): void {
  const blocks = Object.values(ipamDocs(cluster).blocks);
  const seen = new Set<bigint>();
  for (const b of blocks) {
    const net = new Address4(b.cidr);
    const start = net.startAddress().bigInt();
    expect(net.subnetMask).toBe(BLOCK_PREFIX);
    expect(`${net.startAddress().correctForm()}/${BLOCK_PREFIX}`).toBe(b.cidr);
    expect(start >= first && net.endAddress().bigInt() <= last).toBe(true);
    expect(seen.has(start)).toBe(false);
    seen.add(start);
    for (const a of Object.keys(b.allocations)) {
      const v = value(a);
      expect(v >= start && v <= net.endAddress().bigInt()).toBe(true);
      expect([first, first + 1n, last]).not.toContain(v);
    }
  }
}

/** Every allocation in the cluster: address → `host|owner`. */
function allocations(cluster: MemoryCluster): Map<string, string> {
  return new Map(Object.values(ipamDocs(cluster).blocks).flatMap((b) => Object.entries(b.allocations).map(([a, o]) => [a, `${b.host}|${o.id}`] as [string, string])));
}

/** Plays the rounds on a fresh cluster, checking the invariants after each. */
async function runRounds(rounds: Round[]): Promise<void> {
  const cluster = new MemoryCluster();
  HOSTS.forEach((h, i) => cluster.join(h, `192.0.2.${i + 1}`));
  // The second process of h1 runs every transaction twice (the first run thrown away), as a store retrying on conflict does.
  const ipams = [0, 1, 2, 3].map((p) => new GlobalIpam({ globalStore: p === 3 ? new RerunningStore(cluster.storeFor('h1')) : cluster.storeFor(hostOf(p)), maxBatch: 5 }));
  let fresh = 0;
  let before = allocations(cluster);
  const { poolId } = await ipams[0]!.requestPool(poolRequest({ ranges: [{ subnet: SUBNET }], options: { blockPrefix: BLOCK_PREFIX } }));
  for (const ipam of ipams.slice(1)) await ipam.requestPool(poolRequest());
  for (const r of rounds) {
    if ('expire' in r) {
      const host = HOSTS[r.expire]!;
      cluster.expire(host);
      expect(Object.values(ipamDocs(cluster).blocks).some((b) => b.host === host)).toBe(false);
      cluster.join(host, '192.0.2.9');
      await ipams[r.expire]!.requestPool(poolRequest());
      before = allocations(cluster);
      continue;
    }
    const owners = r.calls.map((c) => ('owner' in c ? (c.owner < 0 ? `n${fresh++}` : `o${c.owner}`) : ''));
    const outcomes = await Promise.allSettled(
      r.calls.map((c, i) => {
        const ipam = ipams[c.process]!;
        const who = owner(owners[i]!);
        if (c.kind === 'request') return ipam.requestAddress({ poolId, owner: who, newOwner: c.newOwner, ...(c.offset === undefined ? {} : { address: Address4.fromBigInt(first + BigInt(c.offset)).correctForm() }) });
        if (c.kind === 'releaseOwner') return ipam.releaseOwner(poolId, who);
        return ipam.releaseAddress(poolId, Address4.fromBigInt(first + BigInt(c.offset)).correctForm());
      }),
    );
    checkBlocks(cluster);
    const blocks = Object.values(ipamDocs(cluster).blocks);
    const after = allocations(cluster);
    const released = (address: string, holder: string): boolean =>
      r.calls.some(
        (c, i) =>
          (c.kind === 'releaseOwner' && `${hostOf(c.process)}|${owners[i]}` === holder) ||
          (c.kind === 'releaseAddress' && hostOf(c.process) === holder.split('|')[0] && Address4.fromBigInt(first + BigInt(c.offset)).correctForm() === address),
      );
    for (const [address, holder] of before) if (!released(address, holder)) expect(after.get(address)).toBe(holder);
    const perOwner = [...after.values()].filter((h) => h.includes('|o'));
    expect(new Set(perOwner).size).toBe(perOwner.length);
    before = after;
    outcomes.forEach((o, i) => {
      const c = r.calls[i]!;
      if (o.status === 'rejected') {
        expect(o.reason).toBeInstanceOf(SwitchyardError);
        expect(EXPECTED_CODES).toContain((o.reason as SwitchyardError).code);
        expect(c.kind).toBe('request');
        return;
      }
      if (c.kind !== 'request') return;
      const got = o.value as { address: string; gateway: string };
      expect(got.address.endsWith('/26')).toBe(true);
      expect(got.gateway).toBe('10.30.0.1');
      // Calls of one round may release what another got; if the address is still held, it is in a block of its host.
      const v = value(got.address);
      const holder = blocks.find((b) => {
        const net = new Address4(b.cidr);
        return v >= net.startAddress().bigInt() && v <= net.endAddress().bigInt();
      });
      const address = got.address.split('/')[0]!;
      const held = holder?.allocations[address];
      if (!released(address, `${hostOf(c.process)}|${owners[i]}`)) expect(`${holder?.host}|${held?.id}`).toBe(`${hostOf(c.process)}|${owners[i]}`);
    });
  }
}

describe('GlobalIpam under random concurrent calls', () => {
  it('keeps blocks disjoint and every address in its host’s blocks', async () => {
    await fc.assert(fc.asyncProperty(fc.array(round, { minLength: 1, maxLength: 25 }), runRounds), { numRuns: 60 });
  });
});
