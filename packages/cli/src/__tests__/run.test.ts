import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SwitchyardError, type SandboxRecord } from '@switchyard/core';
import { commandLine, outcomeOf, runCommandLine, startInSandbox, type CommandOutcome, type RunningCommand, type SignalSource } from '../run/child-process.js';
import { parseNetList } from '../run/net-list.js';
import { parseExposeFlags, parsePortFlags } from '../port-spec.js';
import { planRun } from '../run/plan.js';
import { isRunCommandLine } from '../main.js';
import { harness, type Harness } from './harness.js';

describe('--net parsing (rkt syntax)', () => {
  test('no --net means the default network', () => {
    expect(parseNetList([])).toEqual({ kind: 'contained', all: false, requests: [{ name: 'default' }] });
  });

  test('networks are comma-separated across repeated flags, with per-network IP arguments', () => {
    expect(parseNetList(['net1:IP=10.1.0.5,net2', 'net3:IP=fd00::7'])).toEqual({
      kind: 'contained',
      all: false,
      requests: [{ name: 'net1', ipv4: '10.1.0.5' }, { name: 'net2' }, { name: 'net3', ipv6: 'fd00::7' }],
    });
  });

  test('all may sit beside networks that carry arguments', () => {
    expect(parseNetList(['all,net1:IP=10.1.0.5'])).toEqual({ kind: 'contained', all: true, requests: [{ name: 'net1', ipv4: '10.1.0.5' }] });
  });

  test('host and none stand alone', () => {
    expect(parseNetList(['host'])).toEqual({ kind: 'host' });
    expect(parseNetList(['none'])).toEqual({ kind: 'none' });
    expect(() => parseNetList(['none,net1'])).toThrow('--net=none cannot be combined with other networks');
    expect(() => parseNetList(['host', 'net1'])).toThrow('--net=host cannot be combined with other networks');
  });

  test('a network named twice, an unknown argument or a bad IP is refused', () => {
    expect(() => parseNetList(['net1', 'net1:IP=10.1.0.5'])).toThrow('--net names network "net1" more than once');
    expect(() => parseNetList(['net1:MTU=1400'])).toThrow('--net argument "MTU" for network "net1" is not supported');
    expect(() => parseNetList(['net1:IP=10.1.0.500'])).toThrow('--net net1:IP=10.1.0.500 is not an IP address');
  });

  test("--port takes Docker's syntax: host address, host port and container port, ranges, protocols, and a free host port when none is given", () => {
    expect(parsePortFlags(['8080:80', '127.0.0.1:5353:53/udp', '[::1]:8443:443/sctp', '8000-8001:90-91', '7000'])).toEqual([
      { protocol: 'tcp', containerPort: 80, hostPort: 8080 },
      { protocol: 'udp', containerPort: 53, hostPort: 5353, hostIp: '127.0.0.1' },
      { protocol: 'sctp', containerPort: 443, hostPort: 8443, hostIp: '::1' },
      { protocol: 'tcp', containerPort: 90, hostPort: 8000 },
      { protocol: 'tcp', containerPort: 91, hostPort: 8001 },
      { protocol: 'tcp', containerPort: 7000, hostPort: 0 },
    ]);
    expect(parsePortFlags(['10.0.0.1::80'], '192.168.1.7/16')).toEqual([{ protocol: 'tcp', containerPort: 80, hostPort: 0, hostIp: '10.0.0.1', allowFrom: '192.168.0.0/16' }]);
    expect(() => parsePortFlags(['8000-8002:80-81'])).toThrow('the host range has 3 ports and the container range 2');
    expect(() => parsePortFlags(['80:70000'])).toThrow('is not a port (1-65535)');
    expect(() => parsePortFlags(['80:http'])).toThrow('is not a port');
    expect(() => parsePortFlags(['[::1]:80:80'], '10.0.0.0/8')).toThrow('of the other IP family');
    expect(() => parsePortFlags([], '10.0.0.0/8')).toThrow('no --port is given');
  });

  test("--port takes rkt's NAME:[HOST_IP:]HOST_PORT for a named port, and --expose declares one", () => {
    expect(parsePortFlags(['http:8888', 'dns:127.0.0.1:5353', 'admin:[::1]:9000', 'metrics'])).toEqual([
      { name: 'http', hostPort: 8888 },
      { name: 'dns', hostPort: 5353, hostIp: '127.0.0.1' },
      { name: 'admin', hostPort: 9000, hostIp: '::1' },
      { name: 'metrics', hostPort: 0 },
    ]);
    expect(parsePortFlags(['http:8888'], '10.0.0.0/8')).toEqual([{ name: 'http', hostPort: 8888, allowFrom: '10.0.0.0/8' }]);
    expect(() => parsePortFlags(['http:8888/udp'])).toThrow('is not a port mapping');
    expect(() => parsePortFlags(['http:99999'])).toThrow('is not a port (1-65535)');
    expect(() => parsePortFlags(['http:nowhere:80'])).toThrow('is not an IP address');
    expect(parseExposeFlags(['http=80', 'dns=53/udp', 'x-1=9/sctp'])).toEqual([
      { name: 'http', port: 80, protocol: 'tcp' },
      { name: 'dns', port: 53, protocol: 'udp' },
      { name: 'x-1', port: 9, protocol: 'sctp' },
    ]);
    for (const bad of ['http', 'http=0', 'Http=80', 'http=80/icmp', 'http-=80', '8080=80']) expect(() => parseExposeFlags([bad])).toThrow('is not a named port');
  });
});

describe("run's plan and rkt's default-restricted rule", () => {
  const plan = (flags: string[], declared: string[] = []) => planRun(parseNetList(flags), declared);

  test('named networks without default get default-restricted added last', () => {
    expect(plan(['frontend:IP=10.88.0.9,backend']).networks).toEqual([
      { name: 'frontend', ipv4: '10.88.0.9', reason: 'requested' },
      { name: 'backend', reason: 'requested' },
      { name: 'default-restricted', reason: 'rkt-default' },
    ]);
  });

  test('asking for default (or default-restricted) adds nothing', () => {
    expect(plan(['default']).networks.map((n) => n.name)).toEqual(['default']);
    expect(plan(['frontend,default-restricted']).networks.map((n) => n.name)).toEqual(['frontend', 'default-restricted']);
  });

  test('--net=all joins every net.d network in file order, plus default', () => {
    expect(plan(['all,b:IP=10.2.0.9'], ['a', 'b']).networks).toEqual([
      { name: 'a', reason: 'all' },
      { name: 'b', ipv4: '10.2.0.9', reason: 'requested' },
      { name: 'default', reason: 'rkt-default' },
    ]);
  });

  test('--net=all adds nothing when net.d itself declares default or default-restricted', () => {
    expect(plan(['all'], ['a', 'default-restricted']).networks.map((n) => n.name)).toEqual(['a', 'default-restricted']);
  });

  test('none and host join no networks', () => {
    expect(plan(['none'])).toEqual({ mode: 'none', networks: [] });
    expect(plan(['host'])).toEqual({ mode: 'host', networks: [] });
  });
});

class FakeSignals extends EventEmitter implements SignalSource {
  override on(signal: NodeJS.Signals, handler: () => void): this {
    return super.on(signal, handler);
  }
  override off(signal: NodeJS.Signals, handler: () => void): this {
    return super.off(signal, handler);
  }
}

/**
 * The command `run` starts, faked: records each start (the plain and the wrapped command line, the
 * sandbox, whether its namespace existed), answers `outcome` (or throws `failure`) once `onStart` has
 * run, and records the signals passed on.
 */
class FakeCommands {
  started: Array<{ line: string[]; wrapper: string[]; sandbox: SandboxRecord; netnsExisted: boolean }> = [];
  killed: NodeJS.Signals[] = [];
  outcome: CommandOutcome = { code: 0, signal: null };
  failure: Error | undefined;
  onStart: (() => Promise<void> | void) | undefined;

  constructor(private readonly netnsExists: (ns: SandboxRecord['netns']) => Promise<boolean>) {}

  start(argv: readonly string[], sandbox: SandboxRecord): RunningCommand {
    const entry = { line: commandLine(argv, sandbox), wrapper: runCommandLine(argv, sandbox), sandbox, netnsExisted: false };
    this.started.push(entry);
    void this.netnsExists(sandbox.netns).then((x) => (entry.netnsExisted = x));
    return {
      wait: async () => {
        // Signals arrive while the command runs.
        await this.onStart?.();
        if (this.failure) throw this.failure;
        return this.outcome;
      },
      kill: (s) => void this.killed.push(s),
    };
  }
}

describe('switchyard run', () => {
  let h: Harness;
  let cmd: FakeCommands;
  let signals: FakeSignals;

  beforeEach(async () => {
    signals = new FakeSignals();
    h = harness({ signals, startCommand: (argv, sandbox) => cmd.start(argv, sandbox) });
    cmd = new FakeCommands((ns) => h.fake.netnsExists(ns));
    await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
  });
  afterEach(() => h.dispose());

  test('runs the command with nsenter in a sandbox joined to the networks, then removes the sandbox', async () => {
    cmd.outcome = { code: 3, signal: null };
    const r = await h.run('run', '--net=frontend:IP=10.88.0.40', '--name', 'job1', '--', 'ping', '-c1', '10.88.0.3');
    expect(r.code).toBe(3);
    expect(cmd.started).toHaveLength(1);
    expect(cmd.started[0]?.line).toEqual(['nsenter', '--net=/run/netns/job1', '--', 'ping', '-c1', '10.88.0.3']);
    expect(cmd.started[0]?.sandbox.endpoints.map((e) => [e.networkName, e.ifname, e.ipv4])).toEqual([
      ['frontend', 'eth0', '10.88.0.40/24'],
      ['default-restricted', 'eth1', expect.stringMatching(/^\d+\.\d+\.\d+\.\d+\/\d+$/)],
    ]);
    expect(cmd.started[0]?.netnsExisted).toBe(true);
    // Everything the run made is gone; the networks stay.
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes).toEqual([]);
    expect(await h.fake.netnsExists({ kind: 'named', name: 'job1' })).toBe(false);
    expect(r.stderr).toContain('switchyard: sandbox job1 removed (command exited with status 3)');
    expect(r.stderr).toContain('eth1 ');
    expect(r.stderr).toContain('(added by the rkt default rule)');
  });

  test('--json reports the sandbox, each network with its address, and the exit code', async () => {
    const r = await h.run('run', '--json', '--net=frontend,default', '--name', 'job2', '--', 'true');
    expect(r.code).toBe(0);
    expect(r.json().run).toEqual({
      sandbox: 'job2',
      mode: 'isolated',
      networks: [
        { name: 'frontend', reason: 'requested', ifname: 'eth0', ipv4: '10.88.0.2/24', ipv6: null },
        { name: 'default', reason: 'requested', ifname: 'eth1', ipv4: expect.stringMatching(/^172\.16\.28\.\d+\/24$/), ipv6: null },
      ],
      command: ['true'],
      exitCode: 0,
      signal: null,
    });
  });

  test('--net=all joins the net.d networks and default', async () => {
    h.netConf('10-a.conf', { name: 'alpha', type: 'bridge', ipam: { subnet: '10.61.0.0/24' } });
    h.netConf('20-b.conf', { name: 'beta', type: 'ptp', ipam: { subnet: '10.62.0.0/24' } });
    const r = await h.run('run', '--json', '--net=all', '--', 'true');
    expect(r.json().run.networks.map((n: { name: string; ipv4: string }) => [n.name, n.ipv4])).toEqual([
      ['alpha', '10.61.0.2/24'],
      ['beta', '10.62.0.2/24'],
      ['default', expect.stringMatching(/^172\.16\.28\./)],
    ]);
  });

  test('--net=none runs in a loopback-only namespace; --net=host runs the command as is', async () => {
    await h.run('run', '--net=none', '--name', 'lonely', '--', 'ip', 'link');
    expect(cmd.started[0]?.line).toEqual(['nsenter', '--net=/run/netns/lonely', '--', 'ip', 'link']);
    expect(cmd.started[0]?.sandbox.endpoints).toEqual([]);
    await h.run('run', '--net=host', '--', 'ip', 'link');
    expect(cmd.started[1]?.line).toEqual(['ip', 'link']);
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes).toEqual([]);
  });

  test('a network that exists nowhere fails with exit 125 (a failure of run itself) before anything is created', async () => {
    const before = h.fake.snapshot();
    const r = await h.run('run', '--net=frontend,nope,nada', '--', 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('code: SWY_ERR_NETWORK_NOT_FOUND');
    expect(r.stderr).toContain('error: Networks not found: nope, nada');
    expect(cmd.started).toEqual([]);
    expect(h.fake.snapshot()).toEqual(before);
  });

  test('a failing connect removes the sandbox and reports that error with exit 125', async () => {
    await h.run('sandbox', 'create', 'other');
    await h.run('connect', 'frontend', 'other', '--ip', '10.88.0.9');
    const r = await h.run('run', '--net=frontend:IP=10.88.0.9', '--name', 'clash', '--', 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('code: SWY_ERR_ADDRESS_IN_USE');
    expect(cmd.started).toEqual([]);
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes.map((s: { name: string }) => s.name)).toEqual(['other']);
  });

  test('SIGINT and SIGTERM while the command runs are forwarded to it; its signal exit becomes 128+n', async () => {
    cmd.onStart = () => {
      signals.emit('SIGINT');
      signals.emit('SIGTERM');
    };
    cmd.outcome = { code: null, signal: 'SIGINT' };
    const r = await h.run('run', '--net=frontend', '--', 'sleep', '100');
    expect(cmd.killed).toEqual(['SIGINT', 'SIGTERM']);
    expect(r.code).toBe(130);
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes).toEqual([]);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  });

  test('an interrupt during setup stops before the command, removes everything and exits 130', async () => {
    const allocatedBefore = h.ipam.allocated();
    h.fake.failAt(() => {
      signals.emit('SIGINT');
      return false;
    });
    const r = await h.run('run', '--net=frontend,default', '--name', 'cut', '--', 'true');
    expect(cmd.started).toEqual([]);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted by SIGINT before the command started; nothing was left behind');
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes).toEqual([]);
    // Nothing of the sandbox is left: no address held, no namespace.
    expect(h.ipam.allocated()).toEqual(allocatedBefore);
    expect(await h.fake.netnsExists({ kind: 'named', name: 'cut' })).toBe(false);
  });

  test('a command that does not exist exits 127', async () => {
    cmd.outcome = { code: 127, signal: null, notFound: 'nosuchcmd' };
    const r = await h.run('run', '--net=host', '--', 'nosuchcmd');
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('switchyard: nosuchcmd: command not found');
  });

  test('run without a command, or with the command not after --, is a usage error (exit 125)', async () => {
    const none = await h.run('run', '--net=frontend');
    expect(none.code).toBe(125);
    expect(none.stderr).toContain('error: run needs a command to run');
    const noDashes = await h.run('run', '--net=frontend', 'ping', '-c1', '10.88.0.3');
    expect(noDashes.code).toBe(125);
    expect(noDashes.stderr).toContain('hint: Put the command to run after `--`');
  });

  test('exit codes as docker run: a bad flag of run is 125, other commands keep their codes, an option value named run is no run', async () => {
    const bogus = await h.run('run', '--bogus', '--', 'true');
    expect(bogus.code).toBe(125);
    expect(bogus.stderr).toMatch(/^error: unknown option '--bogus'\n/);
    expect(bogus.stderr).toContain('code: SWY_ERR_USAGE');
    expect((await h.run('run', '--net')).code).toBe(125);
    const json = await h.run('run', '--json', '--net=nope', '--', 'true');
    expect(json.code).toBe(125);
    expect(json.json().error).toMatchObject({ code: 'SWY_ERR_NETWORK_NOT_FOUND', kind: 'NotFound' });
    // Not run: the kind decides, as before.
    expect((await h.run('network', 'ls', '--bogus')).code).toBe(2);
    expect((await h.run('sandbox', 'inspect', 'ghost')).code).toBe(3);
    expect((await h.run('--net-dir', 'run', 'sandbox', 'inspect', 'ghost')).code).toBe(3);
    expect((await h.run('', 'run', '--', 'true')).code).toBe(2);
    expect((await h.run('--net-dir', h.netDir, 'run', '--bogus', '--', 'true')).code).toBe(125);
    expect([isRunCommandLine(['--json', 'run', '--', 'x']), isRunCommandLine(['--state-dir', 'run', 'network', 'ls']), isRunCommandLine(['network', 'run'])]).toEqual([true, false, false]);
    expect(cmd.started).toEqual([]);
  });

  test('a command that cannot be executed exits 126 and says so; the command status passes through, even 125 or 127', async () => {
    cmd.outcome = { code: 126, signal: null, notExecutable: './data.txt' };
    const r = await h.run('run', '--net=host', '--', './data.txt');
    expect(r.code).toBe(126);
    expect(r.stderr).toContain('switchyard: ./data.txt: permission denied (not an executable file)');
    cmd.outcome = { code: 125, signal: null };
    expect((await h.run('run', '--net=host', '--', 'sh', '-c', 'exit 125')).code).toBe(125);
    cmd.outcome = { code: 127, signal: null };
    const own = await h.run('run', '--net=host', '--', 'sh', '-c', 'exit 127');
    expect(own.code).toBe(127);
    expect(own.stderr).not.toContain('command not found');
    cmd.outcome = { code: null, signal: 'SIGKILL' };
    expect((await h.run('run', '--net=host', '--', 'sleep', '9')).code).toBe(137);
  });

  test('the command gets its sandbox hosts, resolv.conf and hostname through the wrapper; --net=host gets none', async () => {
    await h.run('run', '--net=frontend', '--name', 'viewed', '--', 'cat', '/etc/hosts');
    const sb = cmd.started[0]?.sandbox;
    expect(sb?.filesDir).toEqual(expect.any(String));
    expect(cmd.started[0]?.wrapper).toEqual([
      ...['setpriv', '--pdeathsig', 'KILL', '--', 'nsenter', '--net=/run/netns/viewed', '--'],
      ...['unshare', '--mount', '--uts', '--propagation', 'private', '--'],
      ...['sh', '-c', expect.stringContaining('mount --bind'), 'switchyard', `${sb?.filesDir}/hosts`, `${sb?.filesDir}/resolv.conf`, 'viewed'],
      ...['cat', '/etc/hosts'],
    ]);
    await h.run('run', '--net=host', '--', 'hostname');
    expect(cmd.started[1]?.wrapper).toEqual(['setpriv', '--pdeathsig', 'KILL', '--', 'sh', '-c', expect.not.stringContaining('mount'), 'switchyard', 'hostname']);
  });

  test('a wrapper that cannot set the command up fails the run with 125 and still removes the sandbox', async () => {
    cmd.failure = new SwitchyardError('SWY_ERR_RUN_SETUP_FAILED', 'The command could not be set up in sandbox broken: mount failed');
    const r = await h.run('run', '--net=frontend', '--name', 'broken', '--', 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('code: SWY_ERR_RUN_SETUP_FAILED');
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes).toEqual([]);
  });
});

describe('switchyard run --sandbox (a command in an existing sandbox, as a pod)', () => {
  let h: Harness;
  let cmd: FakeCommands;
  let signals: FakeSignals;
  let opened: Array<boolean | undefined>;

  beforeEach(async () => {
    opened = [];
    signals = new FakeSignals();
    h = harness({ signals, startCommand: (argv, sandbox) => cmd.start(argv, sandbox) });
    cmd = new FakeCommands((ns) => h.fake.netnsExists(ns));
    const create = h.deps.createSwitchyard;
    h.deps.createSwitchyard = (o) => {
      opened.push(o.recover);
      return (create as NonNullable<typeof create>)(o);
    };
    await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
    await h.run('sandbox', 'create', 'pod1', '--hostname', 'pod1.local', '--dns', '10.88.0.53');
    await h.run('connect', 'frontend', 'pod1', '--ip', '10.88.0.7');
    opened = [];
  });
  afterEach(() => h.dispose());

  const pod1 = async () => (await h.run('sandbox', 'inspect', 'pod1', '--json')).json().sandbox as SandboxRecord;

  test('runs the command in the sandbox (its netns, files and hostname) and leaves the sandbox and its endpoint as they were', async () => {
    const before = await pod1();
    const kernelBefore = h.fake.snapshot();
    cmd.outcome = { code: 3, signal: null };
    const r = await h.run('run', '--sandbox', 'pod1', '--', 'ip', '-br', 'addr');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('switchyard: running ip -br addr in sandbox pod1');
    expect(cmd.started[0]?.wrapper).toEqual([
      ...['setpriv', '--pdeathsig', 'KILL', '--', 'nsenter', '--net=/run/netns/pod1', '--'],
      ...['unshare', '--mount', '--uts', '--propagation', 'private', '--'],
      ...['sh', '-c', expect.any(String), 'switchyard', `${before.filesDir}/hosts`, `${before.filesDir}/resolv.conf`, 'pod1.local'],
      ...['ip', '-br', 'addr'],
    ]);
    expect(await pod1()).toEqual(before);
    expect(h.fake.snapshot()).toEqual(kernelBefore);
    expect(await h.fake.netnsExists({ kind: 'named', name: 'pod1' })).toBe(true);
  });

  test('the state is opened read-only (no recovery, no lock held while the command runs)', async () => {
    await h.run('run', '--sandbox', 'pod1', '--', 'true');
    expect(opened).toEqual([false]);
    // An ephemeral run changes state, so it opens for change.
    await h.run('run', '--net=frontend', '--', 'true');
    expect(opened).toEqual([false, true]);
  });

  test('two commands share one sandbox at once: the second runs and ends while the first still runs', async () => {
    let release: () => void = () => {};
    let firstRunning: () => void = () => {};
    const running = new Promise<void>((resolve) => (firstRunning = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    cmd.onStart = () => {
      if (cmd.started.length !== 1) return;
      firstRunning();
      return held;
    };
    const first = h.run('run', '--sandbox', 'pod1', '--', 'sleep', '60');
    await running;
    const second = await h.run('run', '--json', '--sandbox', 'pod1', '--', 'ip', '-br', 'addr');
    expect(second.code).toBe(0);
    expect(second.json().run).toEqual({
      sandbox: 'pod1',
      mode: 'isolated',
      networks: [{ name: 'frontend', ifname: 'eth0', ipv4: '10.88.0.7/24', ipv6: null }],
      command: ['ip', '-br', 'addr'],
      exitCode: 0,
      signal: null,
    });
    release();
    expect((await first).code).toBe(0);
    expect(cmd.started.map((s) => s.sandbox.id)).toEqual([cmd.started[0]?.sandbox.id, cmd.started[0]?.sandbox.id]);
    expect((await pod1()).endpoints.map((e) => e.ipv4)).toEqual(['10.88.0.7/24']);
  });

  test.each([
    [['--net=frontend'], '--net'],
    [['-p', '8080:80'], '-p/--port'],
    [['--expose', 'http=80'], '--expose'],
    [['--name', 'other'], '--name'],
    [['--allow-from', '10.0.0.0/8'], '--allow-from'],
  ])('--sandbox with %j is a usage error (125) naming %s; nothing runs and the sandbox stays', async (flags, named) => {
    const r = await h.run('run', '--sandbox', 'pod1', ...flags, '--', 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toContain(`error: --sandbox runs the command in an existing sandbox, so it takes no ${named}`);
    expect(r.stderr).toContain('code: SWY_ERR_USAGE');
    expect(cmd.started).toEqual([]);
    expect((await pod1()).endpoints).toHaveLength(1);
  });

  test('a missing sandbox exits 125 with SWY_ERR_SANDBOX_NOT_FOUND', async () => {
    const r = await h.run('run', '--sandbox', 'ghost', '--', 'true');
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('error: No sandbox named or with id "ghost"');
    expect(r.stderr).toContain('code: SWY_ERR_SANDBOX_NOT_FOUND');
    expect(cmd.started).toEqual([]);
  });

  test('a signal is passed to the command; killed by it, run exits 128+n and the sandbox stays', async () => {
    cmd.onStart = () => void signals.emit('SIGTERM');
    cmd.outcome = { code: null, signal: 'SIGTERM' };
    const r = await h.run('run', '--sandbox', 'pod1', '--', 'sleep', '60');
    expect(cmd.killed).toEqual(['SIGTERM']);
    expect(r.code).toBe(143);
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect((await pod1()).name).toBe('pod1');
  });

  test('a failed setup or a missing command never deletes the sandbox', async () => {
    cmd.failure = new SwitchyardError('SWY_ERR_RUN_SETUP_FAILED', 'The command could not be set up in sandbox pod1: mount failed');
    expect((await h.run('run', '--sandbox', 'pod1', '--', 'true')).code).toBe(125);
    cmd.failure = undefined;
    cmd.outcome = { code: 127, signal: null, notFound: 'nosuchcmd' };
    const r = await h.run('run', '--sandbox', 'pod1', '--', 'nosuchcmd');
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('switchyard: nosuchcmd: command not found');
    expect((await pod1()).endpoints).toHaveLength(1);
    expect(await h.fake.netnsExists({ kind: 'named', name: 'pod1' })).toBe(true);
  });

  test('--none and host-mode sandboxes: loopback only in its own namespace, or the host namespace and its files', async () => {
    await h.run('sandbox', 'create', 'lonely', '--none');
    await h.run('run', '--sandbox', 'lonely', '--', 'ip', 'link');
    expect(cmd.started[0]?.wrapper.slice(0, 7)).toEqual(['setpriv', '--pdeathsig', 'KILL', '--', 'nsenter', '--net=/run/netns/lonely', '--']);
    expect(cmd.started[0]?.wrapper).toContain('unshare');
    expect(cmd.started[0]?.sandbox.endpoints).toEqual([]);
    const host = { ...(cmd.started[0]?.sandbox as SandboxRecord), name: 'hosted', mode: 'host' as const, netns: { kind: 'host' as const } };
    expect(runCommandLine(['ip', 'link'], host)).toEqual(['setpriv', '--pdeathsig', 'KILL', '--', 'sh', '-c', expect.any(String), 'switchyard', 'ip', 'link']);
  });
});

const HOSTILE = `x'y"$(touch /tmp/swy-pwned)\`;z`;

function sandboxRecord(over: Partial<SandboxRecord>): SandboxRecord {
  return {
    id: '0123456789abcdef',
    name: 'pod',
    mode: 'isolated',
    netns: { kind: 'named', name: 'pod' },
    ownsNetns: true,
    hostname: 'pod',
    dns: { nameservers: [], search: [], options: [] },
    extraHosts: [],
    labels: {},
    endpoints: [],
    filesDir: '/var/lib/switchyard/run/sandboxes/0123456789abcdef',
    createdAt: '2026-12-04T00:00:00.000Z',
    ...over,
  };
}

describe("run's wrapper command line", () => {
  test('user values are separate argv elements after a constant script: a quote or $(...) in a path, hostname or the command is never shell code', () => {
    const hostile = sandboxRecord({ hostname: HOSTILE, filesDir: `/state/${HOSTILE}/run/sandboxes/id`, netns: { kind: 'path', path: `/proc/1/ns/${HOSTILE}` } });
    const line = runCommandLine(['echo', HOSTILE, '$(id)'], hostile);
    expect(line).toEqual([
      ...['setpriv', '--pdeathsig', 'KILL', '--', 'nsenter', `--net=/proc/1/ns/${HOSTILE}`, '--'],
      ...['unshare', '--mount', '--uts', '--propagation', 'private', '--'],
      ...['sh', '-c', expect.any(String), 'switchyard', `/state/${HOSTILE}/run/sandboxes/id/hosts`, `/state/${HOSTILE}/run/sandboxes/id/resolv.conf`, HOSTILE],
      ...['echo', HOSTILE, '$(id)'],
    ]);
    const script = line[15] as string;
    expect(script).toBe(runCommandLine(['true'], sandboxRecord({}))[15]);
    expect(script).not.toContain('touch');
    expect(script).toContain('mount --bind -- "$1" "$2"');
    expect(script).toContain('exec "$@" 3>&-');
  });

  test('a record without files runs in its netns only; a host-mode sandbox runs with no namespace at all', () => {
    const { filesDir: _omitted, ...bare } = sandboxRecord({});
    expect(runCommandLine(['true'], bare)).toEqual(['setpriv', '--pdeathsig', 'KILL', '--', 'nsenter', '--net=/run/netns/pod', '--', 'sh', '-c', expect.not.stringContaining('mount'), 'switchyard', 'true']);
    expect(runCommandLine(['true'], sandboxRecord({ mode: 'host', netns: { kind: 'host' } }))).toEqual(['setpriv', '--pdeathsig', 'KILL', '--', 'sh', '-c', expect.not.stringContaining('unshare'), 'switchyard', 'true']);
  });

  test('the wrapper report decides the outcome: exec, notfound, noexec, setup failures and a chain that died early', () => {
    const sb = sandboxRecord({});
    expect(outcomeOf(['sh'], sb, 3, null, 'exec\n')).toEqual({ code: 3, signal: null });
    expect(outcomeOf(['sleep'], sb, null, 'SIGTERM', 'exec\n')).toEqual({ code: null, signal: 'SIGTERM' });
    expect(outcomeOf(['nosuch'], sb, 127, null, 'notfound\n')).toEqual({ code: 127, signal: null, notFound: 'nosuch' });
    expect(outcomeOf(['./x'], sb, 126, null, 'noexec\n')).toEqual({ code: 126, signal: null, notExecutable: './x' });
    expect(outcomeOf(['sh'], sb, 127, null, 'exec\n')).toEqual({ code: 127, signal: null });
    expect(() => outcomeOf(['true'], sb, 125, null, 'setup mount --bind a b failed: mount: b: does not exist.\n       dmesg(1) may have more information after failed mount system call.\n')).toThrow(
      expect.objectContaining({ code: 'SWY_ERR_RUN_SETUP_FAILED', message: 'The command could not be set up in sandbox pod: mount --bind a b failed: mount: b: does not exist.' }),
    );
    expect(() => outcomeOf(['true'], sb, 1, null, '')).toThrow(expect.objectContaining({ code: 'SWY_ERR_RUN_SETUP_FAILED' }));
    expect(() => outcomeOf(['true'], sb, 127, null, '')).toThrow(expect.objectContaining({ code: 'SWY_ERR_TOOL_MISSING' }));
    // Killed before the command ran (an interrupt during setup): the signal, not an error.
    expect(outcomeOf(['true'], sb, null, 'SIGINT', '')).toEqual({ code: null, signal: 'SIGINT' });
  });
});

describe('the real wrapper on a host-mode sandbox (no namespace, no privileges needed)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'swy-run-wrapper-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const host = () => sandboxRecord({ mode: 'host', netns: { kind: 'host' } });

  test('the status passes through; a missing command is 127 and a non-executable file 126, each reported as such', async () => {
    expect(await startInSandbox(['sh', '-c', 'exit 3'], host()).wait()).toEqual({ code: 3, signal: null });
    expect(await startInSandbox(['swy-no-such-command'], host()).wait()).toEqual({ code: 127, signal: null, notFound: 'swy-no-such-command' });
    expect(await startInSandbox([join(dir, 'nothere')], host()).wait()).toEqual({ code: 127, signal: null, notFound: join(dir, 'nothere') });
    writeFileSync(join(dir, 'data.txt'), 'not a program\n', { mode: 0o644 });
    expect(await startInSandbox([join(dir, 'data.txt')], host()).wait()).toEqual({ code: 126, signal: null, notExecutable: join(dir, 'data.txt') });
    expect(await startInSandbox([dir], host()).wait()).toEqual({ code: 126, signal: null, notExecutable: dir });
    expect(await startInSandbox(['sh', '-c', 'kill -TERM $$'], host()).wait()).toEqual({ code: null, signal: 'SIGTERM' });
  });

  test('arguments with quotes and $(...) reach the command as they were typed, and the command does not inherit the report channel', async () => {
    const out = join(dir, 'args');
    const hostile = `a'b"$(touch ${dir}/pwned)\`touch ${dir}/pwned2\`;c`;
    const o = await startInSandbox(['sh', '-c', 'printf "%s\\n" "$@" > "$0"; [ -e /proc/self/fd/3 ] && echo fd3 >> "$0"; exit 0', out, hostile, '$(id)', '-x'], host()).wait();
    expect(o).toEqual({ code: 0, signal: null });
    expect(readFileSync(out, 'utf8')).toBe(`${hostile}\n$(id)\n-x\n`);
    expect([existsSync(join(dir, 'pwned')), existsSync(join(dir, 'pwned2'))]).toEqual([false, false]);
  });
});
