import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { cidrContains, createSwitchyard, HOST_NS, parseCidr, type NetworkRecord, type Switchyard } from '@switchyard/core';
import { FakeKernel, MemoryStore } from '@switchyard/core/testing';
import { BUILTIN_DRIVERS, BUILTIN_IPAMS } from '@switchyard/cni';
import { NETD_FILE_LABEL } from '@switchyard/cni';
import { loadNetDir } from '../net-dir.js';
import { NetworkCatalog } from '../network-catalog.js';
import { RUNS, assertCoded, attempt, check, checkSame, cidrText, editedJson, fileTree, hostileString, ipv4Text, maybe, objectNameText, scratchDir, type Json } from '../../../../core/src/__tests__/hostile-input.js';

/**
 * Hostile net.d files (valid rkt/CNI confs with one hostile edit, conflists, random JSON, text that is
 * not JSON) through the loader and on to first use with the built-in drivers and host-local: a file
 * declares a network that is then created well-formed, or is refused with a coded error, and a refused
 * file or a failed first use changes nothing in the store, the kernel or host-local's files.
 */

let root: ReturnType<typeof scratchDir>;
let netDir: string;
let stateDir: string;
let fake: FakeKernel;
let sy: Switchyard;

beforeAll(async () => {
  root = scratchDir('swy-fuzz-netd-');
  netDir = join(root.path, 'net.d');
  stateDir = join(root.path, 'state');
  mkdirSync(netDir);
  fake = new FakeKernel();
  fake.addDevice('eth0', { up: true, mac: '02:00:00:00:00:01' });
  await fake.apply([
    { ns: HOST_NS, op: { op: 'addr.add', dev: 'eth0', cidr: '192.168.1.10/24' } },
    { ns: HOST_NS, op: { op: 'route.add', dst: 'default', via: '192.168.1.1', dev: 'eth0' } },
  ]);
  sy = await createSwitchyard({ stateDir, appDir: false, builtins: { drivers: [...BUILTIN_DRIVERS], ipams: [...BUILTIN_IPAMS] }, kernel: fake, store: new MemoryStore(), recover: false, autoloadPlugins: false });
  await sy.controller.createNetwork({ name: 'base', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.60.0.0/24' }] } });
});

afterAll(async () => {
  await sy.close();
  root.cleanup();
});

/** Store, kernel and host-local's files (a network's directory and lock file stay once made, as CNI's do). */
async function world() {
  return {
    networks: await sy.store.list<NetworkRecord>('networks'),
    intents: await sy.store.list('intents'),
    kernel: fake.snapshot(),
    files: Object.fromEntries(Object.entries(fileTree(stateDir)).filter(([path]) => !path.endsWith('/') && !path.endsWith('/lock'))),
  };
}

// ------------------------------------------------------------------ documents

const subnet = fc.oneof(fc.constantFrom('10.61.0.0/24', '10.60.0.0/24', '10.60.0.128/25', '10.61.0.0/31', '10.61.0.1/32', '10.61.0.1/24', 'fd00:61::/64', 'fd00:61::/127', '0.0.0.0/0', '::/0'), cidrText);
const address = fc.oneof(fc.constantFrom('10.61.0.1', '10.61.0.10', '10.61.0.200', '10.61.0.255', '10.62.0.1', 'fd00:61::1'), ipv4Text);
const range = fc.record({ subnet, rangeStart: maybe(address), rangeEnd: maybe(address), gateway: maybe(address) }, { requiredKeys: ['subnet'] });
const ipam = fc.record(
  {
    type: maybe(fc.constantFrom('host-local', 'dhcp')),
    subnet: maybe(subnet),
    rangeStart: maybe(address),
    rangeEnd: maybe(address),
    gateway: maybe(address),
    ranges: fc.option(fc.array(fc.array(range, { minLength: 1, maxLength: 2 }), { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 4 }),
    routes: maybe(fc.array(fc.record({ dst: fc.constantFrom('0.0.0.0/0', '::/0', '10.0.0.0/8') }), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const driverKeys = fc.record(
  {
    bridge: maybe(fc.constantFrom('br-fuzz', 'cni0', 'br0.1', 'x'.repeat(16))),
    isGateway: maybe(fc.boolean()),
    isDefaultGateway: maybe(fc.boolean()),
    ipMasq: maybe(fc.boolean()),
    mtu: maybe(fc.oneof(fc.constantFrom(1400, 1500, 9000, 67, 65536), fc.integer())),
    master: maybe(fc.constantFrom('eth0', 'eth0.10', 'eth9', 'lo')),
    mode: maybe(fc.constantFrom('bridge', 'private', 'vepa', 'passthru', 'l2', 'l3', 'l3s')),
  },
  { requiredKeys: [] },
);

/** A conf as a user would write one (unknown keys for the type and the odd bad value are its edits' job). */
const conf: fc.Arbitrary<Json> = fc
  .tuple(fc.oneof(objectNameText, fc.constantFrom('base', 'lan')), fc.constantFrom('bridge', 'ptp', 'veth', 'macvlan', 'ipvlan', 'ptp-lite'), maybe(fc.constantFrom('0.3.1', '0.4.0', '1.0.0')), maybe(ipam), driverKeys)
  .map(([name, type, cniVersion, ipamConf, keys]) => {
    const allowed: Record<string, string[]> = {
      bridge: ['bridge', 'isGateway', 'isDefaultGateway', 'ipMasq', 'mtu'],
      ptp: ['ipMasq', 'mtu'],
      veth: ['ipMasq', 'mtu'],
      macvlan: ['master', 'mode', 'mtu'],
      ipvlan: ['master', 'mode', 'mtu'],
    };
    const extra = Object.fromEntries(Object.entries(keys).filter(([k, v]) => v !== undefined && (allowed[type] ?? []).includes(k)));
    return JSON.parse(JSON.stringify({ cniVersion, name, type, ...extra, ipam: ipamConf })) as Json;
  });

// Keys an edit may add: CNI keys Switchyard does not read, and ones it does.
const CONF_KEYS = ['plugins', 'capabilities', 'args', 'dns', 'ipam', 'type', 'name', 'runtimeConfig'];

/** The file's text: the JSON of a conf (valid, edited once or twice), random JSON, or text that is not JSON at all. */
const document = fc.oneof(
  { arbitrary: conf.map((c) => JSON.stringify(c)), weight: 7 },
  { arbitrary: conf.chain((c) => editedJson(c, CONF_KEYS)).map((c) => JSON.stringify(c)), weight: 4 },
  { arbitrary: conf.map((c) => JSON.stringify({ cniVersion: '1.0.0', name: 'list', plugins: [c] })), weight: 1 },
  {
    arbitrary: conf
      .chain((c) => editedJson(c, CONF_KEYS))
      .chain((c) => editedJson(c, CONF_KEYS))
      .map((c) => JSON.stringify(c, null, 2)),
    weight: 2,
  },
  { arbitrary: fc.json({ maxDepth: 3 }), weight: 1 },
  {
    arbitrary: fc.oneof(
      hostileString,
      conf.map((c) => JSON.stringify(c)).chain((t) => fc.nat(t.length).map((n) => t.slice(0, n))),
      conf.map((c) => `\ufeff${JSON.stringify(c)}`),
      conf.map((c) => `${JSON.stringify(c)}\n${JSON.stringify(c)}`),
    ),
    weight: 1,
  },
);

// ------------------------------------------------------------------ the property

function checkNetwork(n: NetworkRecord, file: string): void {
  check(n.labels[NETD_FILE_LABEL] === file, 'the network to name the file it came from');
  for (const p of [n.ipv4, n.ipv6]) {
    if (!p) continue;
    const c = parseCidr(p.subnet);
    check(c.cidr === p.subnet && c.network === c.address, () => `a canonical subnet, got ${p.subnet}`);
    if (p.gateway !== undefined) check(cidrContains(p.subnet, p.gateway), () => `gateway ${p.gateway} inside ${p.subnet}`);
  }
}

/** Removes every network but base, and the directories host-local keeps for removed networks. */
async function restore(): Promise<void> {
  for (const n of await sy.controller.listNetworks()) if (n.name !== 'base') await sy.controller.deleteNetwork(n.name);
  const ipamDir = join(stateDir, 'ipam', 'host-local');
  for (const dir of readdirSync(ipamDir)) if (!dir.startsWith('.') && dir !== 'base') rmSync(join(ipamDir, dir), { recursive: true, force: true });
}

describe('net.d files', () => {
  it('a file declares a network that is created well-formed on first use, or is refused with a coded error, and a refusal changes nothing', async () => {
    const file = join(netDir, '50-fuzz.conf');
    let baseline = await world();
    await fc.assert(
      fc.asyncProperty(document, async (text) => {
        writeFileSync(file, text);
        // Loading never fails for a file's content: a bad file is an error for its network, or a broken file.
        const loaded = await attempt(() => loadNetDir(netDir));
        check(loaded.ok, () => `the net dir to load, got ${loaded.ok ? '' : loaded.error.message}`);
        const [declared] = loaded.value.declarations;
        if (declared === undefined) {
          const [broken] = loaded.value.broken;
          check(broken !== undefined && loaded.value.broken.length === 1, 'a file that declares no network to be listed as broken');
          assertCoded(broken.error);
          return check(broken.error.code === 'SWY_ERR_CONFIG_INVALID', () => `SWY_ERR_CONFIG_INVALID, got ${broken.error.code}`);
        }
        if (declared.spec === undefined) {
          check(declared.error !== undefined, 'a declaration without a spec to carry its error');
          assertCoded(declared.error);
          return check(declared.error.code === 'SWY_ERR_CONFIG_INVALID', () => `SWY_ERR_CONFIG_INVALID, got ${declared.error?.code}`);
        }
        check(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(declared.name), 'a declaration with a network name');
        const created = await attempt(() => new NetworkCatalog(sy, netDir, {}).ensure(declared.name));
        if (created.ok) {
          if (created.value.createdFrom !== undefined) checkNetwork(created.value.network, file);
        } else {
          const after = await world();
          if (!isDeepStrictEqual(after, baseline)) {
            // Put the base world back first, so that shrinking replays start from it too.
            await restore();
            const expected = baseline;
            baseline = await world();
            checkSame(after, expected);
          }
          return;
        }
        if (created.value.createdFrom === undefined) return; // `base`: already there
        await restore();
        baseline = await world();
      }),
      { numRuns: RUNS },
    );
  });
});
