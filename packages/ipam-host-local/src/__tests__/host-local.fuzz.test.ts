import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { cidrContains, parseCidr, type PoolRequest, type PoolResponse } from '@switchyard/core';
import { HostLocalIpam } from '../host-local-ipam.js';
import { decodePoolId } from '../pool-id.js';
import {
  RUNS,
  addressText,
  attempt,
  check,
  checkSame,
  cidrText,
  exoticValue,
  fileTree,
  ifnameText,
  ipv4Text,
  ipv6Text,
  maybe,
  objectNameText,
  scratchDir,
  sometimesExotic,
  textFor,
} from '../../../core/src/__tests__/hostile-input.js';

/**
 * Hostile input to host-local (pools: subnets /0 to /128, host bits, v4-mapped v6, overlaps, gateways
 * and ranges outside their subnet; addresses: zone ids, prefixes, the gateway; owners: container ids
 * and interface names with line breaks and path characters): a request works and is well-formed, or
 * fails with a coded error and leaves the data directory as it was.
 */

let dir: ReturnType<typeof scratchDir>;
let ipam: HostLocalIpam;
let base: PoolResponse;

beforeAll(async () => {
  dir = scratchDir('swy-fuzz-host-local-');
  ipam = new HostLocalIpam({ dataDir: join(dir.path, 'data') });
  base = await ipam.requestPool({ networkId: 'id-base', networkName: 'base', family: 4, ranges: [{ subnet: '10.60.0.0/24', rangeStart: '10.60.0.10', rangeEnd: '10.60.0.20' }], exclude: [], options: {} });
  await ipam.requestAddress({ poolId: base.poolId, owner: { id: 'holder', ifname: 'eth0' }, address: '10.60.0.12' });
});
afterAll(() => dir.cleanup());

/** The data directory's allocations (a network's directory and lock file stay once made, as CNI's do). */
function files(): Record<string, string> {
  return Object.fromEntries(Object.entries(fileTree(join(dir.path, 'data'))).filter(([path]) => !path.endsWith('/') && !path.endsWith('/lock')));
}

/** Drops the directories host-local keeps for released pools, so the tree stays small. */
function dropReleasedDirs(): void {
  const data = join(dir.path, 'data');
  for (const d of readdirSync(data)) if (!d.startsWith('.') && d !== 'base') rmSync(join(data, d), { recursive: true, force: true });
}

const subnet = fc.oneof(
  fc.constantFrom('10.61.0.0/24', '10.60.0.0/24', '10.60.0.128/25', '10.61.0.0/30', '10.61.0.0/31', '10.61.0.1/32', '0.0.0.0/0', 'fd00:61::/64', 'fd00:61::/126', 'fd00:61::/127', '::/0', '::ffff:10.0.0.0/104', 'fe80::%eth0/64'),
  cidrText,
);
const rangeAddress = fc.oneof(fc.constantFrom('10.61.0.1', '10.61.0.0', '10.61.0.255', '10.61.0.100', '10.62.0.1', 'fd00:61::1', 'fd00:61::ffff'), addressText);
const range = fc.record(
  {
    subnet: textFor(subnet, 4),
    gateway: maybe(textFor(rangeAddress, 4)),
    ipRange: maybe(textFor(fc.constantFrom('10.61.0.128/25', '10.61.0.0/26', '10.62.0.0/25', 'fd00:61::/80'), 4)),
    rangeStart: maybe(textFor(rangeAddress, 4)),
    rangeEnd: maybe(textFor(rangeAddress, 4)),
  },
  { requiredKeys: [] },
);
const poolRequest = fc.record({
  networkId: fc.constant('id-fuzz'),
  networkName: sometimesExotic(fc.oneof({ arbitrary: textFor(objectNameText, 6), weight: 9 }, { arbitrary: fc.constant('x'.repeat(300)), weight: 1 })),
  family: sometimesExotic(fc.constantFrom(4, 6)),
  ranges: sometimesExotic(fc.array(sometimesExotic(range), { maxLength: 2 })),
  exclude: fc.array(textFor(fc.constantFrom('10.61.0.0/16', '172.17.0.0/16', '192.168.1.10', 'fd00:61::/48')), { maxLength: 2 }),
  options: fc.oneof({ arbitrary: fc.constant({}), weight: 9 }, { arbitrary: fc.record({ dataDir: fc.oneof(exoticValue, fc.constantFrom('relative/dir', '', '.')) }), weight: 1 }),
});

function checkPool(pool: PoolResponse, family: unknown): void {
  const s = parseCidr(pool.subnet);
  check(s.family === family && s.cidr === pool.subnet && s.network === s.address, () => `a canonical IPv${String(family)} subnet, got ${pool.subnet}`);
  check(s.prefix <= (s.family === 4 ? 30 : 126), () => `room for addresses in ${pool.subnet}`);
  check(pool.gateway !== undefined && cidrContains(pool.subnet, pool.gateway) && pool.gateway !== s.network, () => `a usable gateway inside ${pool.subnet}, got ${pool.gateway}`);
  decodePoolId(pool.poolId);
}

describe('host-local pools', () => {
  it('a pool request gives a well-formed pool whose first address lies inside it, or fails with a coded error and writes nothing', async () => {
    const before = files();
    await fc.assert(
      fc.asyncProperty(poolRequest, async (req) => {
        const r = await attempt(() => ipam.requestPool(req as PoolRequest));
        if (!r.ok) return checkSame(files(), before);
        try {
          checkPool(r.value, req.family);
          const a = await ipam.requestAddress({ poolId: r.value.poolId, owner: { id: 'c1', ifname: 'eth0' } });
          const address = parseCidr(a.address).address;
          check(cidrContains(r.value.subnet, address) && address !== r.value.gateway, () => `${a.address} inside ${r.value.subnet}, not the gateway`);
        } finally {
          // As core does: endpoints' addresses go before the pool.
          await ipam.releaseOwner(r.value.poolId, { id: 'c1', ifname: 'eth0' });
          await ipam.releasePool(r.value.poolId);
          dropReleasedDirs();
        }
        // Releasing the pool takes its addresses and its last reserved address along.
        checkSame(files(), before);
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ addresses and owners

const containerId = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-f]{12}$/), fc.constantFrom('holder', 'c1', ' c1 ', 'c1\r\neth9', '../../etc', 'x'.repeat(300)));
const owner = fc.record({ id: sometimesExotic(textFor(containerId, 4)), ifname: sometimesExotic(textFor(ifnameText, 4)) });
const requested = fc.option(textFor(fc.oneof(fc.constantFrom('10.60.0.12', '10.60.0.15', '10.60.0.15/24', '10.60.0.1', '10.60.0.21', '10.60.0.0', '10.60.0.255', '::ffff:10.60.0.15', '10.60.0.15%eth0'), ipv4Text, ipv6Text), 4), {
  nil: undefined,
  freq: 3,
});

describe('host-local addresses', () => {
  it('an address request for any owner gives an address of the range recorded for that owner, or fails with a coded error and writes nothing', async () => {
    let before = files();
    await fc.assert(
      fc.asyncProperty(owner, requested, async (o, address) => {
        const r = await attempt(() => ipam.requestAddress({ poolId: base.poolId, owner: o as { id: string; ifname: string }, ...(address === undefined ? {} : { address }) }));
        if (!r.ok) return checkSame(files(), before);
        const { id, ifname } = o as { id: string; ifname: string };
        const got = parseCidr(r.value.address).address;
        const n = Number(got.split('.')[3]);
        check(got.startsWith('10.60.0.') && n >= 10 && n <= 20, () => `an address of 10.60.0.10-20, got ${r.value.address}`);
        const content = readFileSync(join(dir.path, 'data', 'base', got), 'utf8');
        check(content.split('\r\n').length === 2, () => `one id and one interface in the address file, got ${JSON.stringify(content)}`);
        if (got !== '10.60.0.12') {
          check(content === `${id.trim()}\r\n${ifname}`, () => `the file to name its owner, got ${JSON.stringify(content)}`);
          await ipam.releaseOwner(base.poolId, { id, ifname });
        }
        // What stays is where round-robin resumes (last_reserved_ip), as in CNI.
        before = files();
      }),
      { numRuns: RUNS },
    );
  });
});
