import fc from 'fast-check';
import { cidrContains, parseCidr, type PoolRequest, type PoolResponse } from '@switchyard/core';
import { MemoryCluster } from '@switchyard/core/testing';
import { GlobalIpam } from '../global-ipam.js';
import { RUNS, addressText, attempt, check, checkSame, cidrText, ifnameText, ipv4Text, ipv6Text, maybe, objectNameText, sometimesExotic, textFor } from '../../../core/src/__tests__/hostile-input.js';
import { poolRequest } from './helpers.js';

/**
 * Hostile input to IPAM `global` (pool requests: names, families, subnets /0 to /128 with host bits,
 * gateways, excludes, blockPrefix and mode options; address requests: owners with line breaks and path
 * characters, addresses with zones and prefixes): a request works and is well formed, or fails with a
 * coded error and leaves every document of the cluster as it was.
 */

let cluster: MemoryCluster;
let ipam: GlobalIpam;
let base: PoolResponse;

beforeAll(async () => {
  cluster = new MemoryCluster();
  cluster.join('h1', '192.0.2.1');
  ipam = new GlobalIpam({ globalStore: cluster.storeFor('h1') });
  base = await ipam.requestPool(poolRequest({ networkName: 'base', ranges: [{ subnet: '10.60.0.0/24' }], options: { blockPrefix: 28 } }));
  await ipam.requestAddress({ poolId: base.poolId, owner: { id: 'holder', ifname: 'eth0' }, address: '10.60.0.12' });
});

const subnet = fc.oneof(
  fc.constantFrom('10.61.0.0/24', '10.60.0.0/24', '10.60.0.128/25', '10.61.0.0/30', '10.61.0.0/31', '10.61.0.1/32', '0.0.0.0/0', 'fd00:61::/64', 'fd00:61::/126', '::/0', '::ffff:10.0.0.0/104', 'fe80::%eth0/64'),
  cidrText,
);
const range = fc.record({ subnet: textFor(subnet, 4), gateway: maybe(textFor(fc.oneof(fc.constantFrom('10.61.0.1', '10.61.0.0', '10.61.0.255', '10.62.0.1', 'fd00:61::1'), addressText), 4)) }, { requiredKeys: [] });
const request = fc.record({
  networkId: fc.constant('id-fuzz'),
  networkName: sometimesExotic(fc.oneof({ arbitrary: textFor(objectNameText, 6), weight: 9 }, { arbitrary: fc.constant('x'.repeat(300)), weight: 1 })),
  family: sometimesExotic(fc.constantFrom(4, 6)),
  ranges: sometimesExotic(fc.array(sometimesExotic(range), { maxLength: 2 })),
  exclude: fc.array(textFor(fc.constantFrom('10.61.0.0/16', '10.200.0.0/16', '192.168.1.10', 'fd00:61::/48')), { maxLength: 2 }),
  options: fc.record(
    {
      blockPrefix: sometimesExotic(fc.oneof(fc.integer({ min: -1, max: 130 }), fc.constantFrom('26', '26 ', 'x', 26.5))),
      mode: sometimesExotic(textFor(fc.constantFrom('blocks', 'host-subnet'), 4)),
    },
    { requiredKeys: [] },
  ),
});

test(`a pool request gives a well-formed pool whose first address lies inside it, or fails coded and changes no document (${RUNS} cases)`, async () => {
  const before = cluster.snapshot();
  const seen = { ok: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(request, async (req) => {
      if (req.networkName === 'base') return;
      const r = await attempt(() => ipam.requestPool(req as PoolRequest));
      seen[r.ok ? 'ok' : 'refused']++;
      if (!r.ok) return checkSame(cluster.snapshot(), before);
      try {
        const s = parseCidr(r.value.subnet);
        check(s.family === req.family && s.cidr === r.value.subnet && s.network === s.address, () => `a canonical IPv${String(req.family)} subnet, got ${r.value.subnet}`);
        check(r.value.gateway === undefined || (cidrContains(r.value.subnet, r.value.gateway) && r.value.gateway !== s.network), () => `a gateway inside ${r.value.subnet}, got ${r.value.gateway}`);
        const a = await attempt(() => ipam.requestAddress({ poolId: r.value.poolId, owner: { id: 'c1', ifname: 'eth0' } }));
        if (a.ok) {
          const address = parseCidr(a.value.address).address;
          check(cidrContains(r.value.subnet, address) && address !== r.value.gateway, () => `${a.value.address} inside ${r.value.subnet}, not the gateway`);
        } else {
          // Only a pool with no room for an endpoint may refuse one.
          check(a.error.code === 'SWY_ERR_POOL_EXHAUSTED', () => `an address from a new pool, got ${a.error.code}: ${a.error.message}`);
        }
      } finally {
        await ipam.releaseOwner(r.value.poolId, { id: 'c1', ifname: 'eth0' });
        await ipam.releasePool(r.value.poolId);
      }
      checkSame(cluster.snapshot(), before);
    }),
    { numRuns: RUNS },
  );
  // Both outcomes occur often enough for the property to say something about each.
  check(seen.ok >= RUNS / 100 && seen.refused >= RUNS / 100, () => `too few of one outcome: ${JSON.stringify(seen)}`);
});

const containerId = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-f]{12}$/), fc.constantFrom('holder', 'c1', ' c1 ', 'c1\r\neth9', '../../etc', 'x'.repeat(300)));
const owner = fc.record({ id: sometimesExotic(textFor(containerId, 4)), ifname: sometimesExotic(textFor(ifnameText, 4)) });
const requested = fc.option(textFor(fc.oneof(fc.constantFrom('10.60.0.12', '10.60.0.15', '10.60.0.15/24', '10.60.0.1', '10.60.0.0', '10.60.0.255', '10.60.1.1', '::ffff:10.60.0.15', '10.60.0.15%eth0'), ipv4Text, ipv6Text), 4), {
  nil: undefined,
  freq: 3,
});

test(`an address request for any owner gives an address of the pool recorded for that owner, or fails coded and changes no document (${RUNS} cases)`, async () => {
  const seen = { ok: 0, refused: 0 };
  await fc.assert(
    fc.asyncProperty(owner, requested, async (o, address) => {
      const before = cluster.snapshot();
      const r = await attempt(() => ipam.requestAddress({ poolId: base.poolId, owner: o as { id: string; ifname: string }, ...(address === undefined ? {} : { address }) }));
      seen[r.ok ? 'ok' : 'refused']++;
      if (!r.ok) return checkSame(cluster.snapshot(), before);
      const got = parseCidr(r.value.address);
      check(got.prefix === 24 && cidrContains('10.60.0.0/24', got.address) && got.address !== '10.60.0.1', () => `an address of 10.60.0.0/24 but the gateway, got ${r.value.address}`);
      const { id, ifname } = o as { id: string; ifname: string };
      if (got.address !== '10.60.0.12') {
        const held = JSON.stringify(cluster.snapshot());
        check(held.includes(got.address), () => `${got.address} recorded in a block`);
        await ipam.releaseOwner(base.poolId, { id, ifname });
        check(!JSON.stringify(cluster.snapshot()).includes(`"${got.address}"`), () => `${got.address} released with its owner`);
      }
    }),
    { numRuns: RUNS },
  );
  check(seen.ok >= RUNS / 100 && seen.refused >= RUNS / 100, () => `too few of one outcome: ${JSON.stringify(seen)}`);
});
