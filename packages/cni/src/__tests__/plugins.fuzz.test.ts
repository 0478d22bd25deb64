import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { HOST_NS, type NetworkRecord, type SandboxRecord, type Switchyard } from '@switchyard/core';
import { MemoryFirewall, createTestSwitchyard, type TestSwitchyard } from '@switchyard/core/testing';
import bridgeDriver from '@switchyard/driver-bridge';
import { check, checkSame, editedJson, fileTree, hostileString, scratchDir, type Json } from '../../../core/src/__tests__/hostile-input.js';
import { hostLocalPlugin } from '../host-local.js';
import { CNI_CONTAINER_LABEL, switchyardPlugin } from '../plugin.js';
import { GC_ATTACHMENTS_KEY } from '../protocol/config.js';
import { CNI_COMMANDS } from '../protocol/env.js';
import { resultProblems } from '../protocol/result.js';
import { runPlugin, type PluginHandlers, type PluginOutput } from '../protocol/run.js';
import { isSupportedVersion, SUPPORTED_VERSIONS } from '../protocol/versions.js';

/**
 * Hostile stdin and environment through the real plugin handlers — switchyard-bridge on FakeKernel and
 * a memory firewall, switchyard-host-local on a data directory — as a runtime would exec them. Whatever
 * comes in, the answer is a valid result (ADD), nothing (the other commands), or exactly the spec's error
 * object with a non-zero exit; and a failed command changes nothing: the store, the kernel, IPAM, the
 * published ports and the host-local files are as before. A successful ADD is undone by its DEL.
 */
const RUNS = 10_000;

let sy: TestSwitchyard;
const firewall = new MemoryFirewall();
let scratch: ReturnType<typeof scratchDir>;
let dataDir: string;
/** The runtime's namespace files, made in beforeAll. */
const NETNS: string[] = [];

beforeAll(async () => {
  scratch = scratchDir('swy-fuzz-cni-');
  dataDir = join(scratch.path, 'data');
  sy = await createTestSwitchyard([bridgeDriver], { firewall, runDir: join(scratch.path, 'run') });
  // Forwarding is on already: a published port turns it on and leaves it on by design.
  await sy.fake.apply([{ ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } }]);
  for (const i of [0, 1]) {
    // Real files (adoption records their identity) the fake kernel knows.
    const file = join(scratch.path, `ns${i}`);
    writeFileSync(file, '');
    sy.fake.addPathNetns(file);
    NETNS.push(file);
  }
});

afterAll(async () => {
  await sy.dispose();
  scratch.cleanup();
});

const bridgePlugin = (): PluginHandlers => switchyardPlugin({ driver: 'bridge', open: async () => Object.assign(Object.create(sy) as Switchyard, { close: () => sy.settle() }) });

async function world() {
  return {
    networks: await sy.store.list<NetworkRecord>('networks'),
    sandboxes: await sy.store.list<SandboxRecord>('sandboxes'),
    intents: await sy.store.list('intents'),
    kernel: sy.fake.snapshot(),
    addresses: sy.ipam.allocated().sort(),
    published: firewall.publishedPorts(),
    // The address files: the lock, last_reserved_ip and the owner index stay once made, as with CNI's host-local.
    addressFiles: Object.entries(fileTree(dataDir)).filter(([path]) => /\/[0-9a-f.:]+$/.test(path) && /[.:]/.test(path.slice(path.lastIndexOf('/')))),
  };
}

const plausible = <T>(values: T[]) => fc.oneof({ arbitrary: fc.constantFrom(...values), weight: 4 }, { arbitrary: hostileString, weight: 1 });
const envArb = fc.record({
  CNI_COMMAND: fc.oneof({ arbitrary: fc.constantFrom(...CNI_COMMANDS), weight: 8 }, { arbitrary: hostileString, weight: 1 }),
  CNI_CONTAINERID: fc.option(plausible(['c1', 'c2', '3f6940ab5ab4'.repeat(5)]), { nil: undefined, freq: 10 }),
  CNI_NETNS: fc.option(plausible(['0', '1']), { nil: undefined, freq: 10 }),
  CNI_IFNAME: fc.option(plausible(['eth0', 'net1']), { nil: undefined, freq: 10 }),
  CNI_ARGS: fc.option(plausible(['IgnoreUnknown=1;K8S_POD_NAME=web', 'IP=10.71.0.9', 'MAC=02:00:00:00:00:09', 'IP=x']), { nil: undefined, freq: 3 }),
  CNI_PATH: fc.constant('/opt/cni/bin'),
});

/** The runtime's environment: CNI_NETNS "0"/"1" name one of the namespace files. */
function environment(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const netns = env.CNI_NETNS === '0' || env.CNI_NETNS === '1' ? NETNS[Number(env.CNI_NETNS)] : env.CNI_NETNS;
  return { ...env, CNI_NETNS: netns };
}

const bridgeConf: Json = {
  cniVersion: '1.1.0',
  name: 'fz',
  type: 'switchyard-bridge',
  bridge: 'fz0',
  isGateway: true,
  ipMasq: true,
  mtu: 1400,
  ipam: { type: 'host-local', ranges: [[{ subnet: '10.71.0.0/24', gateway: '10.71.0.1' }]], routes: [{ dst: '0.0.0.0/0' }] },
  dns: { nameservers: ['10.71.0.1'] },
  runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp', hostIP: '' }], ips: ['10.71.0.20/24'], mac: '02:42:0a:47:00:14' },
  args: { cni: { ips: ['10.71.0.21'] } },
  [GC_ATTACHMENTS_KEY]: [{ containerID: 'c2', ifname: 'eth0' }],
};
const hostLocalConf: Json = {
  cniVersion: '1.1.0',
  name: 'fzhl',
  type: 'bridge',
  ipam: { type: 'switchyard-host-local', dataDir: '<data>', ranges: [[{ subnet: '10.72.0.0/24', rangeStart: '10.72.0.10' }], [{ subnet: 'fd72::/64' }]], routes: [{ dst: '0.0.0.0/0', gw: '10.72.0.1' }] },
  runtimeConfig: { ips: ['10.72.0.30'], ipRanges: [[{ subnet: '10.73.0.0/24' }]] },
  [GC_ATTACHMENTS_KEY]: [{ containerID: 'c2', ifname: 'eth0' }],
};
const KEYS = ['cniVersion', 'name', 'type', 'ipam', 'dns', 'runtimeConfig', 'args', 'prevResult', 'bridge', 'isDefaultGateway', 'hairpinMode', 'vlan', 'subnet', 'ranges', GC_ATTACHMENTS_KEY, '__proto__'];

/** stdin: the config with one or two edits, a version from the supported ones or not, or text that is not JSON. */
const stdinFor = (base: Json) =>
  fc.oneof(
    { arbitrary: fc.tuple(editedJson(base, KEYS), fc.constantFrom(...SUPPORTED_VERSIONS, '0.2.0', '9.9.9')).map(([doc, v]) => JSON.stringify(withVersion(doc, v))), weight: 8 },
    {
      arbitrary: editedJson(base, KEYS)
        .chain((doc) => editedJson(doc, KEYS))
        .map((doc) => JSON.stringify(doc)),
      weight: 3,
    },
    { arbitrary: fc.constant(JSON.stringify(base)), weight: 2 },
    { arbitrary: hostileString, weight: 1 },
  );

function withVersion(doc: Json, version: string): Json {
  return doc !== null && typeof doc === 'object' && !Array.isArray(doc) && typeof doc.cniVersion === 'string' ? { ...doc, cniVersion: version } : doc;
}

/** The answer is well formed for what was asked: a valid result, nothing, or the spec's error object. */
function checkAnswer(out: PluginOutput, command: string | undefined): void {
  if (out.exitCode !== 0) {
    check(out.exitCode === 1, () => `exit 1 on failure, got ${out.exitCode}`);
    const error = JSON.parse(out.stdout) as Record<string, unknown>;
    check(Number.isInteger(error.code) && (error.code as number) > 0, () => `an integer error code, got ${out.stdout}`);
    check(typeof error.msg === 'string' && error.msg !== '', () => `a message, got ${out.stdout}`);
    check(isSupportedVersion(error.cniVersion), () => `a supported cniVersion in the error, got ${out.stdout}`);
    return;
  }
  if (command === 'ADD') {
    const result = JSON.parse(out.stdout) as Record<string, unknown>;
    const problems = resultProblems(result, result.cniVersion as (typeof SUPPORTED_VERSIONS)[number]);
    check(problems.length === 0, () => `a valid result, got ${problems.join('; ')}: ${out.stdout}`);
  } else if (command !== 'VERSION') check(out.stdout === '', () => `no output for ${command}, got ${out.stdout}`);
}

/**
 * Runs one case against `plugin`. A failure must leave the world as it was; a successful ADD is undone by
 * the DEL of the same attachment (and the network it created removed), after which the world is as before.
 */
async function exercise(target: Target, env: Record<string, string | undefined>, stdin: string): Promise<void> {
  await target.ensureResident();
  const before = await world();
  const out = await runPlugin(target.plugin(), { env, stdin });
  checkAnswer(out, env.CNI_COMMAND);
  const key = `${env.CNI_COMMAND} ${out.exitCode === 0 ? 'ok' : 'error'}`;
  if ((CNI_COMMANDS as readonly string[]).includes(env.CNI_COMMAND ?? '')) tally.set(key, (tally.get(key) ?? 0) + 1);
  if (out.exitCode === 0 && env.CNI_COMMAND === 'ADD') {
    const del = await runPlugin(target.plugin(), { env: { ...env, CNI_COMMAND: 'DEL' }, stdin });
    check(del.exitCode === 0, () => `the DEL of a successful ADD to succeed, got ${del.stdout}`);
    for (const n of await sy.controller.listNetworks()) if (!before.networks.some((b) => b.name === n.name)) await sy.controller.deleteNetwork(n.name);
  }
  // A DEL or GC that succeeded (or the DEL undoing an ADD for the resident's own container) may have removed the resident attachment: that is its job, not a leak.
  if (out.exitCode === 0 && !(await target.residentThere())) return;
  const after = await world();
  if (!isDeepStrictEqual(after, before)) checkSame(after, before);
}

/**
 * A plugin under test and its resident attachment: container c2 on eth0, added before the cases (its
 * result is the configs' prevResult, so CHECK can pass), and added again when a DEL or GC removed it.
 */
interface Target {
  plugin: () => PluginHandlers;
  ensureResident(): Promise<void>;
  residentThere(): Promise<boolean>;
}

const RESIDENT_ENV = (netns: string) => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c2', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' });

/** Adds the resident with `conf` (no capability arguments); returns its result. */
async function addResident(plugin: PluginHandlers, conf: Json): Promise<Json> {
  const plain = { ...(conf as Record<string, Json>), runtimeConfig: {}, args: {} };
  const out = await runPlugin(plugin, { env: RESIDENT_ENV(NETNS[1] as string), stdin: JSON.stringify(plain) });
  if (out.exitCode !== 0) throw new Error(`the resident attachment: ${out.stdout}`);
  return JSON.parse(out.stdout) as Json;
}

/** Outcomes per command, so a test can tell that the generators reach the successful paths too. */
const tally = new Map<string, number>();
beforeEach(() => tally.clear());

/** Every command succeeded at least once and failed at least once: the cases reach past the parsers. */
function expectBothOutcomes(): void {
  const missing = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC'].flatMap((c) => ['ok', 'error'].map((o) => `${c} ${o}`)).filter((k) => !tally.has(k));
  expect(missing).toEqual([]);
}

describe('the CNI plugins on hostile stdin and environment', () => {
  it('switchyard-bridge answers a valid result, nothing or a spec error, and a failure changes nothing', async () => {
    const target: Target = {
      plugin: bridgePlugin,
      ensureResident: async () => {
        if (!(await target.residentThere())) await addResident(bridgePlugin(), bridgeConf);
      },
      residentThere: async () => (await sy.controller.listSandboxes()).some((s) => s.labels[CNI_CONTAINER_LABEL] === 'c2'),
    };
    const conf = { ...(bridgeConf as Record<string, Json>), prevResult: await addResident(bridgePlugin(), bridgeConf) };
    await fc.assert(
      fc.asyncProperty(envArb, stdinFor(conf), async (env, stdin) => exercise(target, environment(env), stdin)),
      { numRuns: RUNS },
    );
    expectBothOutcomes();
  });

  it('switchyard-host-local answers a valid result, nothing or a spec error, and a failure changes nothing', async () => {
    const base = JSON.parse(JSON.stringify(hostLocalConf).replace('<data>', dataDir)) as Json;
    const residentThere = async () => (await world()).addressFiles.some(([, content]) => content.startsWith('c2\r\n'));
    const target: Target = {
      plugin: () => hostLocalPlugin(),
      ensureResident: async () => {
        if (!(await residentThere())) await addResident(hostLocalPlugin(), base);
      },
      residentThere,
    };
    const conf = { ...(base as Record<string, Json>), prevResult: await addResident(hostLocalPlugin(), base) };
    await fc.assert(
      fc.asyncProperty(envArb, stdinFor(conf), async (env, stdin) => exercise(target, environment(env), stdin)),
      { numRuns: RUNS },
    );
    expectBothOutcomes();
  });
});
