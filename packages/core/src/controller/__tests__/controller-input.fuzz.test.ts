import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import { TOKENS } from '../../di/tokens.js';
import type { SandboxFiles } from '../../sandbox/sandbox-files.js';
import { MemoryFirewall } from '../../testing/memory-firewall.js';
import { HOST_NS } from '../../spi/kernel.js';
import type { EndpointRecord, NetworkRecord, NetworkSpec, PortBinding, SandboxRecord, SandboxSpec, ConnectOptions } from '../../model/types.js';
import { ERROR_CODES } from '../../errors/codes.js';
import { assertIfName, cidrContains, parseCidr, parseIpAddress } from '../../kernel/names.js';
import { isHostName } from '../../sandbox/sandbox-names.js';
import { cidrsOverlap } from '../../util/addresses.js';
import { normalizePortBindings } from '../../firewall/port-bindings.js';
import { fixtureDriver } from './fixture-driver.js';
import {
  RUNS,
  addressText,
  attempt,
  attemptSync,
  check,
  checkRefused,
  checkSame,
  cidrText,
  exoticValue,
  fileTree,
  hostNameText,
  hostileString,
  ifnameText,
  ipv4Text,
  ipv6Text,
  macText,
  maybe,
  numberValue,
  objectNameText,
  rarely,
  scratchDir,
  sometimesExotic,
  textFor,
} from '../../__tests__/hostile-input.js';

/**
 * Hostile input through the controller (FakeKernel, MemoryStore, MemoryIpam, sandbox files on disk):
 * every call either works and leaves a well-formed record, or fails with a coded error and leaves the
 * store, the kernel, IPAM and the sandbox files exactly as they were. A refusal for bad input
 * (InvalidArgument) comes before any kernel step.
 */

let sy: TestSwitchyard;
let run: ReturnType<typeof scratchDir>;
let base: NetworkRecord;
const firewall = new MemoryFirewall();
/** Calls of the sandbox-file writers: the files below the run dir change only through them. */
let fileWrites = 0;

beforeAll(async () => {
  run = scratchDir('swy-fuzz-controller-');
  sy = await createTestSwitchyard([fixtureDriver()], { runDir: run.path, firewall });
  sy.fake.addPathNetns('/run/netns/adopt-me');
  // Forwarding is on already: a published port turns it on and leaves it on by design.
  await sy.fake.apply([
    { ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } },
    { ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv6.conf.all.forwarding', value: '1' } },
  ]);
  const files = sy.container.resolve<SandboxFiles>(TOKENS.SandboxFiles);
  for (const method of ['write', 'writeHosts', 'remove'] as const) {
    const real = files[method].bind(files) as (s: SandboxRecord) => Promise<unknown>;
    (files as unknown as Record<string, unknown>)[method] = (s: SandboxRecord) => {
      fileWrites++;
      return real(s);
    };
  }
  base = await sy.controller.createNetwork({ name: 'base', driver: 'fixture', ipv6: true, ipam: { ipv4: [{ subnet: '10.50.0.0/16' }], ipv6: [{ subnet: 'fd00:50::/64' }] } });
  await sy.controller.createSandbox({ name: 'sb' });
  await sy.controller.createSandbox({ name: 'loner', mode: 'none' });
  await sy.controller.createSandbox({ name: 'busy' });
  await sy.controller.connect('base', 'busy', { ipv4: '10.50.0.7' });
});

afterAll(async () => {
  await sy.dispose();
  run.cleanup();
});

/** Everything a failed call must leave alone (the files are read again only when a writer of theirs ran). */
let lastFiles: { writes: number; tree: Record<string, string> } = { writes: -1, tree: {} };
async function world() {
  if (lastFiles.writes !== fileWrites) lastFiles = { writes: fileWrites, tree: fileTree(run.path) };
  return {
    networks: await sy.store.list<NetworkRecord>('networks'),
    sandboxes: await sy.store.list<SandboxRecord>('sandboxes'),
    intents: await sy.store.list('intents'),
    kernel: sy.fake.snapshot(),
    pools: sy.ipam.poolCount(),
    addresses: sy.ipam.allocated().sort(),
    files: lastFiles.tree,
    published: firewall.publishedPorts(),
  };
}

type World = Awaited<ReturnType<typeof world>>;
let baseline: World;

/**
 * Calls `call` on the baseline world. A coded error must leave the world exactly as it was, and bad input
 * (InvalidArgument) must be refused before any kernel step. A success is inspected, then undone, and
 * the undo must restore the baseline.
 */
async function exercise<T>(call: () => Promise<T>, inspect: (value: T) => Promise<void> | void, undo: (value: T) => Promise<unknown>): Promise<void> {
  const steps = sy.fake.history.length;
  const r = await attempt(call);
  if (!r.ok) {
    const after = await world();
    if (!isDeepStrictEqual(after, baseline)) {
      // Put the base world back first, so that shrinking replays start from it too.
      await restoreBase();
      const expected = baseline;
      baseline = await world();
      checkSame(after, expected);
    }
    if (ERROR_CODES[r.error.code] === 'InvalidArgument' && !r.error.code.startsWith('SWY_ERR_ADDRESS')) {
      check(sy.fake.history.length === steps, () => `no kernel step before the refusal ${r.error.code}: ${r.error.message}`);
    }
    return;
  }
  try {
    await inspect(r.value);
  } finally {
    await undo(r.value);
  }
  checkSame(await world(), baseline);
}

/** Removes what a failed call left behind: every network but base, every sandbox but sb, loner and busy, sb's endpoints. */
async function restoreBase(): Promise<void> {
  for (const s of await sy.controller.listSandboxes()) {
    if (!['sb', 'loner', 'busy'].includes(s.name)) await sy.controller.deleteSandbox(s.name);
    else if (s.name === 'sb') for (const e of s.endpoints) await sy.controller.disconnect(e.networkName, 'sb');
  }
  for (const n of await sy.controller.listNetworks()) if (n.name !== 'base') await sy.controller.deleteNetwork(n.name);
}

function checkSubnet(pool: { subnet: string; gateway?: string } | undefined, family: 4 | 6): void {
  if (!pool) return;
  const p = parseCidr(pool.subnet);
  check(p.family === family && p.cidr === pool.subnet && p.network === p.address, () => `a canonical IPv${family} subnet, got ${pool.subnet}`);
  if (pool.gateway !== undefined) check(parseIpAddress(pool.gateway).family === family && cidrContains(pool.subnet, pool.gateway), () => `gateway ${pool.gateway} inside ${pool.subnet}`);
}

// ------------------------------------------------------------------ networks

const subnet = fc.oneof(fc.constantFrom('10.60.0.0/24', '10.50.128.0/24', '10.0.0.0/8', '172.20.0.0/16', 'fd00:60::/64', 'fd00:50::/80', '192.168.0.0/31', '10.61.0.1/32'), cidrText);
const range = fc.record({ subnet: maybe(sometimesExotic(textFor(subnet))), gateway: maybe(textFor(addressText)) }, { requiredKeys: [] });
const ranges = sometimesExotic(fc.array(sometimesExotic(range), { maxLength: 2 }));

const networkSpec = fc.record(
  {
    name: sometimesExotic(fc.oneof(textFor(objectNameText), fc.constantFrom('base', 'host', 'none', 'all'))),
    driver: fc.oneof({ arbitrary: fc.constant('fixture'), weight: 8 }, { arbitrary: textFor(fc.constantFrom('fixture', 'bridge')), weight: 1 }),
    ipam: maybe(fc.record({ ipv4: maybe(ranges), ipv6: maybe(ranges) }, { requiredKeys: [] })),
    ipv6: maybe(sometimesExotic(fc.boolean())),
    ipv4: maybe(sometimesExotic(fc.boolean())),
    internal: maybe(fc.boolean()),
    labels: maybe(fc.dictionary(hostileString, hostileString, { maxKeys: 2 })),
    options: maybe(sometimesExotic(fc.dictionary(fc.oneof(fc.constant('label'), hostileString), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }))),
  },
  { requiredKeys: ['name', 'driver'] },
);

describe('network create', () => {
  it('creates a well-formed network or fails with a coded error and changes nothing', async () => {
    baseline = await world();
    await fc.assert(
      fc.asyncProperty(networkSpec, async (spec) => {
        await exercise(
          () => sy.controller.createNetwork(spec as NetworkSpec),
          async (n) => {
            check(n.name === spec.name, 'the network to keep its name');
            checkSubnet(n.ipv4, 4);
            checkSubnet(n.ipv6, 6);
            check(n.ipv4 !== undefined || n.ipv6 !== undefined, 'an address family');
            for (const p of [n.ipv4, n.ipv6]) if (p) check(!cidrsOverlap(p.subnet, base.ipv4!.subnet) && !cidrsOverlap(p.subnet, base.ipv6!.subnet), () => `${p.subnet} not to overlap the base network`);
            check((await sy.store.list('intents')).length === 0, 'no intent left behind');
          },
          (n) => sy.controller.deleteNetwork(n.name),
        );
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ sandboxes

const netnsPath = fc.oneof(
  fc.constantFrom('/run/netns/adopt-me', '/proc/self/ns/net', '/proc/1/ns/net', '/run/netns/../netns/adopt-me', '/proc/999999/ns/net'),
  fc.stringMatching(/^[a-f0-9]{12,64}$/).map((id) => `/run/netns/${id}`),
);
const sandboxSpec = fc.record(
  {
    name: sometimesExotic(fc.oneof({ arbitrary: textFor(objectNameText, 6), weight: 9 }, { arbitrary: fc.constantFrom('sb', 'busy'), weight: 1 })),
    mode: rarely(fc.oneof(fc.constantFrom('isolated', 'none', 'host'), hostileString)),
    netnsPath: rarely(sometimesExotic(textFor(netnsPath))),
    pid: rarely(sometimesExotic(fc.oneof(numberValue, fc.constant(1)))),
    hostname: maybe(sometimesExotic(textFor(hostNameText, 6))),
    dns: maybe(
      fc.record(
        {
          nameservers: maybe(sometimesExotic(fc.array(sometimesExotic(textFor(addressText, 6)), { maxLength: 2 }))),
          search: maybe(sometimesExotic(fc.array(sometimesExotic(textFor(hostNameText, 6)), { maxLength: 2 }))),
          options: maybe(sometimesExotic(fc.array(sometimesExotic(textFor(fc.constantFrom('ndots:2', 'edns0', 'timeout:1'), 6)), { maxLength: 2 }))),
        },
        { requiredKeys: [] },
      ),
    ),
    extraHosts: maybe(sometimesExotic(fc.array(sometimesExotic(fc.record({ name: sometimesExotic(textFor(hostNameText, 6)), address: sometimesExotic(textFor(addressText, 6)) })), { maxLength: 2 }))),
    labels: maybe(fc.dictionary(hostileString, hostileString, { maxKeys: 2 })),
  },
  { requiredKeys: ['name'] },
);

/** The hosts and resolv.conf lines a runtime bind-mounts: each entry on its own line, nothing injected. */
function checkSandboxFiles(dir: string): void {
  const files = fileTree(dir);
  for (const line of (files['/hosts'] ?? '').trimEnd().split('\n')) check(/^[0-9a-fA-F:.]+\t[A-Za-z0-9.-]+( [A-Za-z0-9.-]+)*$/.test(line), () => `a hosts line, got ${JSON.stringify(line)}`);
  for (const line of (files['/resolv.conf'] ?? '').trimEnd().split('\n')) {
    if (line !== '') check(/^(nameserver [0-9a-fA-F:.]+|search [A-Za-z0-9.-]+( [A-Za-z0-9.-]+)*|options [\w.:-]+( [\w.:-]+)*)$/.test(line), () => `a resolv.conf line, got ${JSON.stringify(line)}`);
  }
}

describe('sandbox create', () => {
  it('creates a well-formed sandbox with clean hosts and resolv.conf files, or fails with a coded error and changes nothing', async () => {
    baseline = await world();
    await fc.assert(
      fc.asyncProperty(sandboxSpec, async (spec) => {
        await exercise(
          () => sy.controller.createSandbox(spec as SandboxSpec),
          (s) => {
            check(s.name === spec.name && isHostName(s.hostname), () => `a sandbox with a host name, got ${JSON.stringify(s.hostname)}`);
            check(s.filesDir !== undefined, 'a files directory');
            checkSandboxFiles(s.filesDir);
          },
          (s) => sy.controller.deleteSandbox(s.name),
        );
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ endpoints

const port = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 65535 }), weight: 4 }, { arbitrary: numberValue, weight: 1 });
const binding = fc.record(
  {
    protocol: fc.oneof(fc.constantFrom('tcp', 'udp', 'sctp'), hostileString),
    containerPort: port,
    hostPort: port,
    hostIp: maybe(textFor(addressText)),
    allowFrom: maybe(fc.oneof(fc.constantFrom('10.0.0.0/8', '192.168.1.7/24', 'fd00::/8', '0.0.0.0/0', '::/0'), hostileString)),
  },
  { requiredKeys: ['protocol', 'containerPort', 'hostPort'] },
);
const validBinding = fc.record(
  {
    protocol: fc.constantFrom('tcp', 'udp', 'sctp'),
    containerPort: fc.integer({ min: 1, max: 65535 }),
    hostPort: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 65535 })),
    hostIp: maybe(fc.constantFrom('0.0.0.0', '192.168.1.10', '::')),
    allowFrom: maybe(fc.constantFrom('10.0.0.0/8', '192.168.0.0/16')),
  },
  { requiredKeys: ['protocol', 'containerPort', 'hostPort'] },
);
const connectOptions = fc.record(
  {
    ipv4: maybe(sometimesExotic(textFor(fc.oneof(fc.constantFrom('10.50.0.9', '10.50.0.7', '10.50.0.1', '10.50.255.255', '10.51.0.1'), ipv4Text)))),
    ipv6: maybe(sometimesExotic(textFor(fc.oneof(fc.constantFrom('fd00:50::9', 'fd00:50::1', 'fd00:51::9'), ipv6Text)))),
    mac: maybe(sometimesExotic(textFor(macText))),
    ifname: maybe(sometimesExotic(textFor(ifnameText))),
    aliases: maybe(fc.array(sometimesExotic(textFor(hostNameText)), { maxLength: 3 })),
    portBindings: maybe(fc.array(fc.oneof(validBinding, binding), { maxLength: 2 })),
    gatewayPriority: maybe(fc.oneof(fc.integer({ min: -1000, max: 1000 }), numberValue)),
  },
  { requiredKeys: [] },
);
const networkRef = fc.oneof({ arbitrary: fc.constant('base'), weight: 6 }, { arbitrary: fc.constant('<id>'), weight: 1 }, { arbitrary: textFor(fc.constant('base')), weight: 2 });
const sandboxRef = fc.oneof({ arbitrary: fc.constant('sb'), weight: 6 }, { arbitrary: fc.constantFrom('loner', 'busy'), weight: 1 }, { arbitrary: textFor(fc.constant('sb')), weight: 2 });

/** A well-formed binding; `requested` ones may still ask for any host port (0), published ones hold a real one. */
function checkBinding(b: PortBinding, requested = false): void {
  check(['tcp', 'udp', 'sctp'].includes(b.protocol), () => `a known protocol, got ${JSON.stringify(b.protocol)}`);
  check(Number.isInteger(b.containerPort) && b.containerPort >= 1 && b.containerPort <= 65535, () => `a container port of 1-65535, got ${b.containerPort}`);
  const lowest = requested ? 0 : 1;
  check(Number.isInteger(b.hostPort) && b.hostPort >= lowest && b.hostPort <= 65535, () => `a host port of ${lowest}-65535, got ${b.hostPort}`);
  const host = b.hostIp === undefined ? undefined : parseIpAddress(b.hostIp);
  if (b.allowFrom !== undefined) {
    const from = parseCidr(b.allowFrom);
    check(from.cidr === `${from.network}/${from.prefix}` && (host === undefined || host.family === from.family), () => `a client subnet without host bits, of the host IP's family, got ${b.allowFrom}`);
  }
}

function checkEndpoint(e: EndpointRecord): void {
  assertIfName(e.ifname);
  if (e.mac !== undefined) check(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(e.mac), () => `a normalised MAC, got ${e.mac}`);
  if (e.ipv4 !== undefined) check(cidrContains(base.ipv4!.subnet, parseCidr(e.ipv4).address), () => `${e.ipv4} inside ${base.ipv4!.subnet}`);
  if (e.ipv6 !== undefined) check(cidrContains(base.ipv6!.subnet, parseCidr(e.ipv6).address), () => `${e.ipv6} inside ${base.ipv6!.subnet}`);
  for (const alias of e.aliases) check(isHostName(alias), () => `an alias that is a host name, got ${JSON.stringify(alias)}`);
  check(Number.isInteger(e.gatewayPriority), () => `an integer gateway priority, got ${e.gatewayPriority}`);
  e.portBindings.forEach((b) => checkBinding(b));
}

describe('connect', () => {
  it('joins with a well-formed endpoint (interface in the sandbox, clean hosts file) or fails with a coded error and changes nothing', async () => {
    baseline = await world();
    await fc.assert(
      fc.asyncProperty(networkRef, sandboxRef, connectOptions, async (net, sb, opts) => {
        const network = net === '<id>' ? base.id.slice(0, 12) : net;
        await exercise(
          () => sy.controller.connect(network, sb, opts as ConnectOptions),
          async (e) => {
            checkEndpoint(e);
            const sandbox = await sy.controller.inspectSandbox(sb);
            check(sy.fake.linkNames(sandbox.netns).includes(e.ifname), () => `${e.ifname} in the sandbox`);
            checkSandboxFiles(sandbox.filesDir!);
            firewall.publishedPorts().forEach((b) => checkBinding(b));
          },
          async () => {
            await sy.controller.disconnect(network, sb);
            await sy.settle();
          },
        );
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ port bindings

describe('port bindings', () => {
  it('a binding is accepted only with a known protocol, ports of 1-65535 and a host IP that is an address', () => {
    fc.assert(
      fc.property(fc.oneof({ arbitrary: fc.array(sometimesExotic(binding), { maxLength: 3 }), weight: 9 }, { arbitrary: exoticValue, weight: 1 }), (bindings) => {
        const r = attemptSync(() => normalizePortBindings(bindings));
        if (r.ok) r.value.forEach((b) => checkBinding(b, true));
        else checkRefused(r, 'SWY_ERR_INVALID_OPTION', 'SWY_ERR_INVALID_CIDR');
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ defects the fuzz found, pinned

describe('connect input the fuzz once let through', () => {
  it('connect refuses a gateway priority that is not an integer', async () => {
    await expect(sy.controller.connect('base', 'sb', { gatewayPriority: NaN })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
  });

  it('connect refuses malformed port bindings before they reach the firewall', async () => {
    const bindings = [{ protocol: 'tcp; drop' as 'tcp', containerPort: 0, hostPort: 70000, hostIp: '1.2.3.4 accept' }];
    await expect(sy.controller.connect('base', 'sb', { portBindings: bindings })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
    expect(firewall.publishedPorts()).toEqual([]);
  });
});
