import { EventEmitter } from 'node:events';
import type { SandboxRecord } from '@switchyard/core';
import { commandLine, type CommandOutcome, type SignalSource } from '../run/child-process.js';
import { parseNetList } from '../run/net-list.js';
import { parseExposeFlags, parsePortFlags } from '../port-spec.js';
import { planRun } from '../run/plan.js';
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

describe('switchyard run', () => {
  let h: Harness;
  let started: Array<{ line: string[]; sandbox: SandboxRecord; netnsExisted: boolean }>;
  let outcome: CommandOutcome;
  let signals: FakeSignals;
  let killed: NodeJS.Signals[];
  let onStart: (() => void) | undefined;

  beforeEach(async () => {
    started = [];
    killed = [];
    outcome = { code: 0, signal: null };
    onStart = undefined;
    signals = new FakeSignals();
    h = harness({
      signals,
      startCommand: (argv, sandbox) => {
        started.push({ line: commandLine(argv, sandbox), sandbox, netnsExisted: false });
        const entry = started.at(-1);
        void h.fake.netnsExists(sandbox.netns).then((x) => entry && (entry.netnsExisted = x));
        return {
          wait: async () => {
            // Signals arrive while the command runs.
            onStart?.();
            return outcome;
          },
          kill: (s) => void killed.push(s),
        };
      },
    });
    await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
  });
  afterEach(() => h.dispose());

  test('runs the command with nsenter in a sandbox joined to the networks, then removes the sandbox', async () => {
    outcome = { code: 3, signal: null };
    const r = await h.run('run', '--net=frontend:IP=10.88.0.40', '--name', 'job1', '--', 'ping', '-c1', '10.88.0.3');
    expect(r.code).toBe(3);
    expect(started).toHaveLength(1);
    expect(started[0]?.line).toEqual(['nsenter', '--net=/run/netns/job1', '--', 'ping', '-c1', '10.88.0.3']);
    expect(started[0]?.sandbox.endpoints.map((e) => [e.networkName, e.ifname, e.ipv4])).toEqual([
      ['frontend', 'eth0', '10.88.0.40/24'],
      ['default-restricted', 'eth1', expect.stringMatching(/^\d+\.\d+\.\d+\.\d+\/\d+$/)],
    ]);
    expect(started[0]?.netnsExisted).toBe(true);
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
    expect(started[0]?.line).toEqual(['nsenter', '--net=/run/netns/lonely', '--', 'ip', 'link']);
    expect(started[0]?.sandbox.endpoints).toEqual([]);
    await h.run('run', '--net=host', '--', 'ip', 'link');
    expect(started[1]?.line).toEqual(['ip', 'link']);
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes).toEqual([]);
  });

  test('a network that exists nowhere fails with exit 3 before anything is created', async () => {
    const before = h.fake.snapshot();
    const r = await h.run('run', '--net=frontend,nope,nada', '--', 'true');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: Networks not found: nope, nada');
    expect(started).toEqual([]);
    expect(h.fake.snapshot()).toEqual(before);
  });

  test('a failing connect removes the sandbox and exits with that error', async () => {
    await h.run('sandbox', 'create', 'other');
    await h.run('connect', 'frontend', 'other', '--ip', '10.88.0.9');
    const r = await h.run('run', '--net=frontend:IP=10.88.0.9', '--name', 'clash', '--', 'true');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('code: SWY_ERR_ADDRESS_IN_USE');
    expect(started).toEqual([]);
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes.map((s: { name: string }) => s.name)).toEqual(['other']);
  });

  test('SIGINT and SIGTERM while the command runs are forwarded to it; its signal exit becomes 128+n', async () => {
    onStart = () => {
      signals.emit('SIGINT');
      signals.emit('SIGTERM');
    };
    outcome = { code: null, signal: 'SIGINT' };
    const r = await h.run('run', '--net=frontend', '--', 'sleep', '100');
    expect(killed).toEqual(['SIGINT', 'SIGTERM']);
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
    expect(started).toEqual([]);
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('interrupted by SIGINT before the command started; nothing was left behind');
    expect((await h.run('sandbox', 'ls', '--json')).json().sandboxes).toEqual([]);
    // Nothing of the sandbox is left: no address held, no namespace.
    expect(h.ipam.allocated()).toEqual(allocatedBefore);
    expect(await h.fake.netnsExists({ kind: 'named', name: 'cut' })).toBe(false);
  });

  test('a command that does not exist exits 127', async () => {
    outcome = { code: 127, signal: null, notFound: 'nosuchcmd' };
    const r = await h.run('run', '--net=host', '--', 'nosuchcmd');
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('switchyard: nosuchcmd: command not found');
  });

  test('run without a command, or with the command not after --, is a usage error', async () => {
    const none = await h.run('run', '--net=frontend');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('error: run needs a command to run');
    const noDashes = await h.run('run', '--net=frontend', 'ping', '-c1', '10.88.0.3');
    expect(noDashes.code).toBe(2);
    expect(noDashes.stderr).toContain('hint: Put the command to run after `--`');
  });
});
