import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import type { JsonObject, NetworkRecord, NetworkSpec } from '../model/types.js';
import type { DriverManifest } from '../registry/plugin.js';
import { HOST_NS } from '../spi/kernel.js';
import { assertIfName } from '../kernel/names.js';
import { createTestSwitchyard, type TestSwitchyard } from '../testing/test-switchyard.js';
import { MemoryFirewall } from '../testing/memory-firewall.js';
import type { MemoryCluster } from '../testing/memory-global-store.js';
import { RUNS, attempt, check, checkSame, hostileString, numberValue, textFor, type Json } from './hostile-input.js';

/**
 * The driver-options fuzz every driver package runs with its own option table: a network with any
 * options is created with well-formed options and kernel objects (and removed without a trace), or
 * refused with a coded error that changes nothing in the store, the kernel or IPAM.
 */

export interface DriverOptionsFuzz {
  driver: DriverManifest;
  /** Generators of valid and nearly valid values, per option key. */
  options: Record<string, fc.Arbitrary<Json>>;
  /** Checks the options the driver kept for a network it accepted. */
  checkOptions: (options: JsonObject) => void;
  /**
   * For drivers of global scope: the cluster whose host `h1` (address 192.168.1.10, on eth0) the instance
   * runs as; its documents are part of what must not change on failure. The in-memory IPAM then answers
   * to the driver's default IPAM name.
   */
  cluster?: MemoryCluster;
}

/** Any JSON value an options object (a net.d file, the API) could hold, and the CLI's strings. */
const anyValue: fc.Arbitrary<Json> = fc.oneof(
  hostileString,
  numberValue.map((n) => (Number.isFinite(n) ? n : String(n))),
  fc.boolean(),
  fc.constantFrom<Json>(null, [], {}, '1500', 'true', '0'),
  fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>,
);

/** MTU values of every kind, as numbers and as the strings the CLI passes. */
export const mtuValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(68, 1280, 1400, 1500, 9000, 9001, 65535, 67, 65536, 0, -1, 1500.5, '1400', '1400 ', '0x578', ''),
  numberValue.map((n) => (Number.isFinite(n) ? n : String(n))),
);

/** Interface names as options give them (a bridge, a master), valid and hostile. */
export const linkNameValue = (...valid: string[]): fc.Arbitrary<Json> => textFor(fc.constantFrom(...valid), 4);

/** An MTU option the driver kept: absent, or an integer of 68-65535. */
export function checkMtuOption(mtu: Json | undefined): void {
  if (mtu !== undefined) check(typeof mtu === 'number' && Number.isInteger(mtu) && mtu >= 68 && mtu <= 65535, () => `an MTU of 68-65535, got ${JSON.stringify(mtu)}`);
}

/** true/false in every spelling. */
export const booleanValue: fc.Arbitrary<Json> = fc.oneof(fc.boolean(), fc.constantFrom<Json>('true', 'false', '1', '0', 'yes', 'TRUE', 1, 0, null));

export function describeDriverOptionsFuzz({ driver, options, checkOptions, cluster }: DriverOptionsFuzz): void {
  describe(`${driver.type} driver options`, () => {
    let sy: TestSwitchyard;
    beforeAll(async () => {
      if (cluster) cluster.join('h1', '192.168.1.10');
      sy = await createTestSwitchyard([driver], {
        firewall: new MemoryFirewall(),
        ...(cluster ? { globalStore: cluster.storeFor('h1'), ipamName: driver.capability.defaultIpam?.driver } : {}),
      });
      // A NIC with the default route (the default master), a jumbo one, and a down one.
      sy.fake.addDevice('eth0', { up: true, mtu: 1500, mac: '02:00:00:00:00:01' });
      sy.fake.addDevice('eth1', { up: true, mtu: 9000, mac: '02:00:00:00:00:02' });
      sy.fake.addDevice('eth2', { mtu: 1500, mac: '02:00:00:00:00:03' });
      await sy.fake.apply([
        { ns: HOST_NS, op: { op: 'addr.add', dev: 'eth0', cidr: '192.168.1.10/24' } },
        { ns: HOST_NS, op: { op: 'route.add', dst: 'default', via: '192.168.1.1', dev: 'eth0' } },
        // Forwarding is on already: a masquerading network turns it on and leaves it on by design (docs/firewall.md).
        { ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } },
        { ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv6.conf.all.forwarding', value: '1' } },
      ]);
    });
    afterAll(() => sy.dispose());

    const world = async () => ({
      networks: await sy.store.list<NetworkRecord>('networks'),
      intents: await sy.store.list('intents'),
      kernel: sy.fake.snapshot(),
      pools: sy.ipam.poolCount(),
      cluster: cluster?.snapshot(),
    });

    const optionObject = fc.oneof(
      { arbitrary: fc.record(options, { requiredKeys: [] }), weight: 6 },
      { arbitrary: fc.record(Object.fromEntries(Object.keys(options).map((k) => [k, anyValue])), { requiredKeys: [] }), weight: 3 },
      { arbitrary: fc.dictionary(textFor(fc.constantFrom(...Object.keys(options), 'mtu', 'vlan', '__proto__')), anyValue, { maxKeys: 2 }), weight: 1 },
    );

    it(`a network of the ${driver.type} driver with any options is created well-formed and removed without a trace, or refused with a coded error that changes nothing`, async () => {
      const baseline = await world();
      // Both outcomes must occur, or the property says nothing about one of them.
      const seen = { created: 0, refused: 0 };
      await fc.assert(
        fc.asyncProperty(optionObject, fc.boolean(), async (opts, ipv6) => {
          const spec: NetworkSpec = {
            name: 'fuzz',
            driver: driver.type,
            ...(ipv6 ? { ipv6: true } : {}),
            ipam: { ipv4: [{ subnet: '10.80.0.0/24' }], ...(ipv6 ? { ipv6: [{ subnet: 'fd00:80::/64' }] } : {}) },
            options: opts as JsonObject,
          };
          const r = await attempt(() => sy.controller.createNetwork(spec));
          seen[r.ok ? 'created' : 'refused']++;
          if (r.ok) {
            try {
              checkOptions(r.value.options);
              for (const link of await sy.kernel.listLinks(HOST_NS)) {
                if (link.name === 'lo') continue;
                assertIfName(link.name);
                check(link.mtu >= 68 && link.mtu <= 65535, () => `link ${link.name} with an MTU of 68-65535, got ${link.mtu}`);
              }
            } finally {
              await sy.controller.deleteNetwork('fuzz');
            }
          }
          const after = await world();
          if (!isDeepStrictEqual(after, baseline)) {
            // Remove what a failed create left, so that shrinking replays start from the baseline too.
            await sy.controller.deleteNetwork('fuzz').catch(() => undefined);
            checkSame(after, baseline);
          }
        }),
        { numRuns: RUNS },
      );
      check(seen.created >= RUNS / 100 && seen.refused >= RUNS / 100, () => `too few of one outcome to show anything: ${JSON.stringify(seen)}`);
    });
  });
}
