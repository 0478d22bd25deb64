import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { createSwitchyard, ERROR_CODES, HOST_NS, isHostName, assertIfName, parseCidr, cidrContains, type ErrorCode, type NetworkRecord, type SandboxRecord, type StateStore, type Switchyard } from '@switchyard/core';
import { FakeKernel, MemoryFirewall, MemoryStore } from '@switchyard/core/testing';
import { BUILTIN_DRIVERS, BUILTIN_IPAMS } from '@switchyard/cni';
import { isRunCommandLine, runCli, type CliDeps } from '../main.js';
import { EXIT_CODES } from '../output/failure.js';
import { GLOBAL_OPTIONS } from '../context.js';
import {
  RUNS,
  addressText,
  check,
  checkSame,
  cidrText,
  fileTree,
  hostNameText,
  hostileString,
  ifnameText,
  ipv4Text,
  ipv6Text,
  macText,
  maybe,
  numberText,
  objectNameText,
  rarely,
  scratchDir,
  textFor,
} from '../../../core/src/__tests__/hostile-input.js';

/**
 * Hostile command lines through the whole CLI (built-in drivers, host-local IPAM writing its files,
 * sandbox files, FakeKernel, one in-memory store): every invocation exits 0, or exits with its error
 * kind's status and prints a coded error (no stack, no TypeError, never SWY_ERR_INTERNAL); a failed
 * invocation leaves the store, the kernel and every file in the state dir exactly as they were.
 */

let root: ReturnType<typeof scratchDir>;
let stateDir: string;
let netDir: string;
let fake: FakeKernel;
let store: StateStore;
let deps: CliDeps;
/** The firewall of a host with nftables, in memory: rkt's default network masquerades. */
const firewall = new MemoryFirewall();

interface Invocation {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(argv: readonly string[]): Promise<Invocation> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: { SWITCHYARD_STATE_DIR: stateDir, SWITCHYARD_NET_DIR: netDir } }, deps);
  return { code, stdout, stderr };
}

/** The instance a test uses to look at and tidy the world, built as the CLI builds its own. */
function openDirect(): Promise<Switchyard> {
  return createSwitchyard({ stateDir, appDir: false, builtins: { drivers: [...BUILTIN_DRIVERS], ipams: [...BUILTIN_IPAMS] }, kernel: fake, store, firewall, recover: false, autoloadPlugins: false });
}

/** The base world every case starts from: network base, sandbox busy on it, sandbox sb on none. */
async function ensureBase(sy: Switchyard): Promise<void> {
  const networks = new Set((await sy.controller.listNetworks()).map((n) => n.name));
  if (!networks.has('base')) await sy.controller.createNetwork({ name: 'base', driver: 'bridge', ipv6: true, ipam: { ipv4: [{ subnet: '10.60.0.0/24' }], ipv6: [{ subnet: 'fd00:60::/64' }] } });
  const sandboxes = new Map((await sy.controller.listSandboxes()).map((s) => [s.name, s]));
  for (const name of ['sb', 'busy']) if (!sandboxes.has(name)) await sy.controller.createSandbox({ name });
  if (!sandboxes.get('busy')?.endpoints.some((e) => e.networkName === 'base')) await sy.controller.connect('base', 'busy', { ipv4: '10.60.0.9' });
}

beforeAll(async () => {
  root = scratchDir('swy-fuzz-cli-');
  stateDir = join(root.path, 'state');
  netDir = join(root.path, 'net.d');
  mkdirSync(netDir);
  writeFileSync(join(netDir, '10-lan.conf'), JSON.stringify({ name: 'lan', type: 'bridge', isGateway: true, ipam: { type: 'host-local', subnet: '10.77.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } }));
  writeFileSync(join(root.path, 'web.conf'), JSON.stringify({ name: 'web', type: 'ptp', ipam: { subnet: '10.78.0.0/24' } }));
  fake = new FakeKernel();
  // A host NIC with the default route: macvlan and ipvlan networks pick it as their master.
  fake.addDevice('eth0', { up: true, mac: '02:00:00:00:00:01' });
  await fake.apply([
    { ns: HOST_NS, op: { op: 'addr.add', dev: 'eth0', cidr: '192.168.1.10/24' } },
    { ns: HOST_NS, op: { op: 'route.add', dst: 'default', via: '192.168.1.1', dev: 'eth0' } },
    // Forwarding is on already: a masquerading network or a published port turns it on and leaves it on by design.
    { ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } },
    { ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv6.conf.all.forwarding', value: '1' } },
  ]);
  fake.addPathNetns('/run/netns/adopt-me');
  const memory = new MemoryStore();
  // Each invocation closes its instance; the store must outlive that.
  store = { get: (c, id) => memory.get(c, id), list: (c) => memory.list(c), transaction: (fn) => memory.transaction(fn), close: async () => {} };
  deps = {
    hasPrivileges: () => true,
    createSwitchyard: (o) => createSwitchyard({ ...o, kernel: fake, store, recover: false, autoloadPlugins: false }),
    firewall: () => firewall,
    startCommand: () => ({ wait: async () => ({ code: 0, signal: null }), kill: () => undefined }),
    signals: { on: () => undefined, off: () => undefined },
  };
  await tidy();
});

afterAll(() => root.cleanup());

/**
 * Store, kernel and the files of the state dir. Left out: directories, host-local's lock files (a network's
 * directory and lock stay once made, as CNI's do: deleting a lock file another process waits on breaks the lock),
 * and its last-reserved cursors: a hint that moves on with every allocation, rolled back or not, as in CNI's
 * own format (the crash matrix leaves them out too). A `run` whose static IPv6 address is taken allocates its
 * IPv4 address first, then gives it back.
 */
async function world() {
  return {
    networks: await store.list<NetworkRecord>('networks'),
    sandboxes: await store.list<SandboxRecord>('sandboxes'),
    intents: await store.list('intents'),
    kernel: fake.snapshot(),
    files: Object.fromEntries(Object.entries(fileTree(stateDir)).filter(([path]) => !path.endsWith('/') && !path.endsWith('/lock') && !/\/last_reserved_ip\.\d+$/.test(path))),
  };
}

/** A failed invocation's output: `error:`, optional causes, `hint:` and a known code whose kind gives the exit status. */
function checkFailureOutput(argv: readonly string[], r: Invocation): void {
  // `--json` before `--`, but not as the value of a global option (`--host-name --json`, `--host-name --`: values).
  let json = false;
  for (let i = 0; i < argv.length && argv[i] !== '--' && !json; i++) {
    if (argv[i] === '--json') json = true;
    else if (GLOBAL_VALUE_FLAGS.has(argv[i]!)) i++;
  }
  let code: string;
  if (json) {
    const parsed = JSON.parse(r.stdout) as { error?: { code?: string; message?: string; hint?: string } };
    check(typeof parsed.error?.message === 'string' && typeof parsed.error.hint === 'string', () => `a JSON error with message and hint, got ${r.stdout}`);
    code = parsed.error.code ?? '';
  } else {
    // A command group without a subcommand shows its help (the usage error is the help itself).
    if (r.code === 2 && /^Usage: switchyard /.test(r.stderr)) return;
    const m = /^(?:(?:warning|switchyard): [^\n]*\n)*error: [^\n]+\n(?: {2}cause: [^\n]*\n)*hint: [^\n]+\ncode: (SWY_ERR_[A-Z_]+)\n$/.exec(r.stderr);
    check(m, () => `an "error / hint / code" report, got ${JSON.stringify(r.stderr)}`);
    code = m[1]!;
  }
  check(Object.hasOwn(ERROR_CODES, code) && code !== 'SWY_ERR_INTERNAL', () => `a known code other than SWY_ERR_INTERNAL, got ${code}: ${r.stderr}${r.stdout}`);
  // `run` exits 125 for any failure of its own, as docker run does; every other command by the error's kind.
  const status = isRunCommandLine(argv) ? 125 : EXIT_CODES[ERROR_CODES[code as ErrorCode]];
  check(r.code === status, () => `exit status ${status} for ${code}, got ${r.code}`);
  check(!/TypeError|ReferenceError|RangeError|\n\s+at /.test(r.stderr + r.stdout), () => `no stack or JavaScript error in the output: ${r.stderr}`);
}

/** Every record in the store is well-formed: names, canonical subnets with gateways inside, endpoints with valid interfaces and addresses. */
function checkRecords(w: Awaited<ReturnType<typeof world>>): void {
  const byId = new Map(w.networks.map((n) => [n.id, n]));
  for (const n of w.networks) {
    check(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(n.name), () => `a valid network name, got ${n.name}`);
    for (const p of [n.ipv4, n.ipv6]) {
      if (!p) continue;
      const c = parseCidr(p.subnet);
      check(c.cidr === p.subnet && c.network === c.address, () => `a canonical subnet, got ${p.subnet}`);
      if (p.gateway !== undefined) check(cidrContains(p.subnet, p.gateway), () => `gateway ${p.gateway} inside ${p.subnet}`);
    }
  }
  for (const s of w.sandboxes) {
    check(isHostName(s.hostname), () => `a host name, got ${s.hostname}`);
    for (const e of s.endpoints) {
      assertIfName(e.ifname);
      const n = byId.get(e.networkId);
      check(n !== undefined, 'the endpoint to belong to a network');
      if (e.ipv4) check(cidrContains(n.ipv4!.subnet, parseCidr(e.ipv4).address), () => `${e.ipv4} inside its network`);
      if (e.ipv6) check(cidrContains(n.ipv6!.subnet, parseCidr(e.ipv6).address), () => `${e.ipv6} inside its network`);
      for (const a of e.aliases) check(isHostName(a), () => `an alias that is a host name, got ${a}`);
    }
  }
}

/** Removes whatever a successful invocation added and puts back what it removed, so every case starts from the base world. */
async function tidy(): Promise<void> {
  const sy = await openDirect();
  try {
    for (const s of await sy.controller.listSandboxes()) {
      if (s.name !== 'sb' && s.name !== 'busy') await sy.controller.deleteSandbox(s.name);
      else for (const e of s.endpoints) if (e.networkName !== 'base' || s.name !== 'busy') await sy.controller.disconnect(e.networkName, s.name);
    }
    for (const n of await sy.controller.listNetworks()) if (n.name !== 'base') await sy.controller.deleteNetwork(n.name);
    await ensureBase(sy);
  } finally {
    await sy.close();
  }
  // host-local keeps a removed network's directory and lock file (see world()); drop them so the tree stays small.
  const ipamDir = join(stateDir, 'ipam', 'host-local');
  for (const dir of readdirSync(ipamDir)) if (!dir.startsWith('.') && dir !== 'base') rmSync(join(ipamDir, dir), { recursive: true, force: true });
}

// ------------------------------------------------------------------ command lines

type Flag = [string, string | undefined];
const flag = (name: string, value: fc.Arbitrary<string>): fc.Arbitrary<Flag> => value.map((v): Flag => [name, v]);
/** The global options that take a value, as program.ts declares them. */
const GLOBAL_VALUE_FLAGS = new Set(GLOBAL_OPTIONS.filter((o) => o.flags.includes('<')).map((o) => o.flags.split(' ')[0]!));
const bare = (name: string): fc.Arbitrary<Flag> => fc.constant<Flag>([name, undefined]);

const networkName = fc.oneof({ arbitrary: textFor(objectNameText, 4), weight: 6 }, { arbitrary: fc.constantFrom('base', 'lan', 'default', 'default-restricted', 'host', 'none', 'all'), weight: 2 });
const sandboxName = fc.oneof({ arbitrary: textFor(objectNameText, 4), weight: 4 }, { arbitrary: fc.constantFrom('sb', 'busy'), weight: 4 });
const subnet4 = fc.oneof(fc.constantFrom('10.61.0.0/24', '10.60.0.0/24', '10.60.0.128/25', '10.0.0.0/8', '192.168.1.0/24', '10.61.0.0/30', '10.61.0.0/31', '10.61.0.1/32', '0.0.0.0/0'), cidrText);
const subnet6 = fc.oneof(fc.constantFrom('fd00:61::/64', 'fd00:60::/64', 'fd00:61::/127', '::/0', 'fe80::/64'), cidrText);
const gateway4 = fc.oneof(fc.constantFrom('10.61.0.1', '10.61.0.254', '10.61.0.0', '10.61.0.255', '10.62.0.1'), ipv4Text);
const optionKey = fc.constantFrom('mtu', 'bridge', 'isGateway', 'isDefaultGateway', 'ipMasq', 'hairpinMode', 'promiscMode', 'isolate', 'master', 'mode', 'hostShim', 'shimAddress', 'shimAddress6', 'flag', 'defaultRoute');
const optionValue = fc.oneof(
  numberText,
  fc.constantFrom('true', 'false', '1', '0', 'eth0', 'eth0.10', 'eth0.0', 'eth0.4095', 'bridge', 'private', 'vepa', 'passthru', 'l2', 'l3', 'l3s', 'br-test', '192.168.1.250', 'fd00::fe'),
  ifnameText,
  ipv4Text,
);
const keyValue = (key: fc.Arbitrary<string>, value: fc.Arbitrary<string>) =>
  textFor(
    fc.tuple(key, value).map(([k, v]) => `${k}=${v}`),
    4,
  );

const networkCreate = fc.tuple(
  fc.constant(['network', 'create']),
  fc.array(networkName, { maxLength: 1 }),
  fc.array(
    fc.oneof(
      flag('--driver', textFor(fc.constantFrom('bridge', 'veth', 'macvlan', 'ipvlan', 'ptp'), 4)),
      flag('--subnet', textFor(subnet4, 4)),
      flag('--gateway', textFor(gateway4, 4)),
      flag('--ip-range', textFor(fc.constantFrom('10.61.0.128/25', '10.61.0.0/26', '10.62.0.0/25'), 4)),
      bare('--ipv6'),
      flag('--subnet6', textFor(subnet6, 4)),
      flag('--gateway6', textFor(fc.oneof(fc.constantFrom('fd00:61::1', 'fd00:62::1'), ipv6Text), 4)),
      bare('--internal'),
      flag('--label', keyValue(fc.constantFrom('team', 'x'), hostileString)),
      flag('-o', keyValue(optionKey, optionValue)),
      flag(
        '--from-file',
        rarely(fc.constantFrom('web.conf', 'net.d/10-lan.conf', 'missing.conf', '.')).map((f) => join(root.path, f ?? 'web.conf')),
      ),
    ),
    { maxLength: 5 },
  ),
);

const sandboxCreate = fc.tuple(
  fc.constant(['sandbox', 'create']),
  fc.array(sandboxName, { minLength: 1, maxLength: 1 }),
  fc.array(
    fc.oneof(
      bare('--none'),
      bare('--host'),
      flag('--netns', textFor(fc.constantFrom('/run/netns/adopt-me', '/proc/self/ns/net', '/proc/1/ns/net', '/proc/424242/ns/net'), 4)),
      flag('--pid', numberText),
      flag('--hostname', textFor(hostNameText, 4)),
      flag('--dns', textFor(addressText, 4)),
    ),
    { maxLength: 3 },
  ),
);

const connect = fc.tuple(
  fc.constantFrom(['connect'], ['disconnect']),
  fc.tuple(networkName, sandboxName).map(([n, s]) => [n, s]),
  fc.array(
    fc.oneof(
      flag('--ip', textFor(fc.oneof(fc.constantFrom('10.60.0.20', '10.60.0.9', '10.60.0.1', '10.60.0.255', '10.77.0.5', '172.16.28.7'), ipv4Text), 4)),
      flag('--ip6', textFor(fc.oneof(fc.constantFrom('fd00:60::20', 'fd00:60::1'), ipv6Text), 4)),
      flag('--mac', textFor(macText, 4)),
      flag('--ifname', textFor(ifnameText, 4)),
      flag('--alias', textFor(hostNameText, 4)),
      flag('--priority', numberText),
    ),
    { maxLength: 4 },
  ),
);

const netList = textFor(fc.constantFrom('base', 'base:IP=10.60.0.30', 'lan', 'default', 'default-restricted', 'all', 'none', 'host', 'base,lan', 'base:IP=fd00:60::7', 'base:MTU=9000', 'nope'), 4);
const runCommand = fc.tuple(
  fc.constant(['run']),
  fc.constant([] as string[]),
  fc.array(fc.oneof(flag('--net', netList), flag('--port', textFor(fc.constantFrom('80:8080', '53/udp:5353', '0:1', '80:65536', 'http:80', '80/icmp:8'), 4)), flag('--name', textFor(objectNameText, 4))), { maxLength: 3 }),
);

// One name each: `rm a b` removes what it can and reports the rest, by design, so it is several operations.
const lookups = fc.tuple(
  fc.constantFrom(['network', 'rm'], ['network', 'inspect'], ['network', 'ls'], ['sandbox', 'rm'], ['sandbox', 'inspect'], ['sandbox', 'ls'], ['network'], ['sandbox'], []),
  fc.array(fc.oneof(networkName, sandboxName), { maxLength: 1 }),
  fc.constant([] as Flag[]),
);

/**
 * The multi-host global flags, now and then. No command here touches a global network (no overlay or
 * routed driver is generated), so even a well-formed `--etcd` must never be contacted: its address is in
 * TEST-NET-1, and an attempt would show as SWY_ERR_GLOBAL_STORE_UNAVAILABLE.
 */
const globalFlags = rarely(
  fc.tuple(maybe(textFor(fc.constantFrom('http://192.0.2.1:2379', 'https://192.0.2.1:2379,http://192.0.2.2:2379', 'http://[2001:db8::1]:2379', 'ftp://192.0.2.1', 'http://', '192.0.2.1:2379'), 4)), maybe(textFor(hostNameText, 4))),
);

/** A command line: the command, its positionals and flags in any order and spelling, now and then a stray token, `--json` or `--`. */
const commandLine = fc
  .tuple(
    fc.oneof({ arbitrary: networkCreate, weight: 3 }, { arbitrary: sandboxCreate, weight: 2 }, { arbitrary: connect, weight: 3 }, { arbitrary: runCommand, weight: 1 }, { arbitrary: lookups, weight: 1 }),
    fc.boolean(),
    maybe(fc.nat(8)),
    maybe(hostileString),
    fc.boolean(),
    globalFlags,
  )
  .chain(([[command, positionals, flags], json, at, stray, equalsForm, global]) => {
    const flagTokens = flags.flatMap(([name, value]) => (value === undefined ? [name] : equalsForm && name.startsWith('--') ? [`${name}=${value}`] : [name, value]));
    return fc.shuffledSubarray([...positionals, ...flagTokens], { minLength: positionals.length + flagTokens.length }).map((rest) => {
      const [etcd, hostName] = global ?? [];
      const globals = [...(etcd === undefined ? [] : ['--etcd', etcd]), ...(hostName === undefined ? [] : ['--host-name', hostName])];
      const argv = [...globals, ...command, ...rest];
      if (command[0] === 'run') argv.push('--', 'true');
      // After the command words (never between a global flag and its value, which would take it).
      if (json) argv.splice(globals.length + command.length, 0, '--json');
      if (stray !== undefined && command[1] !== 'rm') argv.splice(Math.min(at ?? 0, argv.length), 0, stray);
      return argv;
    });
  });

describe('the switchyard command line', () => {
  it('every command line exits 0, or exits with its kind status and a coded error, and a failure changes nothing', async () => {
    let baseline = await world();
    await fc.assert(
      fc.asyncProperty(commandLine, async (argv) => {
        const r = await cli(argv);
        check(!r.stderr.includes('SWY_ERR_GLOBAL_STORE_UNAVAILABLE'), () => `etcd contacted by a command that touches no global network: ${JSON.stringify(argv)}`);
        if (r.code !== 0) {
          checkFailureOutput(argv, r);
          const after = await world();
          if (!isDeepStrictEqual(after, baseline)) {
            // Put the base world back first, so that shrinking replays start from it too.
            const expected = baseline;
            await tidy();
            baseline = await world();
            checkSame(after, expected);
          }
          return;
        }
        const now = await world();
        checkRecords(now);
        // A success may leave objects (tidied away) or only files behind (host-local's last reserved address).
        if (sameObjects(now, baseline)) baseline = now;
        else {
          await tidy();
          baseline = await world();
        }
      }),
      { numRuns: RUNS },
    );
  });
});

/** Whether two worlds hold the same objects (a success that added none needs no tidying). */
function sameObjects(a: Awaited<ReturnType<typeof world>>, b: Awaited<ReturnType<typeof world>>): boolean {
  return JSON.stringify([a.networks, a.sandboxes, a.kernel]) === JSON.stringify([b.networks, b.sandboxes, b.kernel]);
}
