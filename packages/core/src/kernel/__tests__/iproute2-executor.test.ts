import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IPROUTES_EXECUTOR_OPTIONS, IproutesExecutor } from '../iproute2-executor.js';
import type { ProcessResult, ProcessRunner } from '../process-runner.js';
import { HOST_NS, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { isSwitchyardError } from '../../errors/switchyard-error.js';
import { rootContainer } from '../../di/decorators.js';

// The executor's logic against a scripted `ip`: which processes it starts, with what input, and
// what it does with ip's answers. No root, no kernel.

interface Call {
  file: string;
  args: readonly string[];
  input: string | undefined;
}

function scripted(answers: Array<Partial<ProcessResult> | Error>): { run: ProcessRunner; calls: Call[] } {
  const calls: Call[] = [];
  const run: ProcessRunner = async (file, args, input) => {
    calls.push({ file, args, input });
    const answer = answers.shift() ?? {};
    if (answer instanceof Error) throw answer;
    return { exitCode: 0, stdout: '', stderr: '', ...answer };
  };
  return { run, calls };
}

// A namespace that exists on every Linux machine, reached by path (so no named namespace is needed).
const self: NetnsRef = { kind: 'path', path: '/proc/self/ns/net' };
const ctx = { hostNetnsPath: '/proc/1/ns/net' };

const veth: KernelStep = { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'vh0', peer: { name: 'eth0', netns: self } } };
const hostUp: KernelStep = { ns: HOST_NS, op: { op: 'link.set', name: 'vh0', up: true } };

describe('IproutesExecutor batching', () => {
  it('sends consecutive steps for one namespace to one ip process and starts another when the namespace changes', async () => {
    const { run, calls } = scripted([]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    await kernel.apply([
      veth,
      hostUp,
      { ns: self, op: { op: 'addr.add', dev: 'eth0', cidr: '10.1.0.2/24' } },
      { ns: self, op: { op: 'link.set', name: 'eth0', up: true } },
      { ns: HOST_NS, op: { op: 'link.set', name: 'vh0', mtu: 1400 } },
    ]);
    // Each attribute change is preceded by a `link show` (JSON on stdout) that records what to restore on undo.
    expect(calls).toEqual([
      { file: 'ip', args: ['-d', '-json', '-batch', '-'], input: 'link add name vh0 type veth peer name eth0 netns /proc/self/ns/net\nlink show dev vh0\nlink set dev vh0 up\n' },
      { file: 'nsenter', args: ['--net=/proc/self/ns/net', 'ip', '-d', '-json', '-batch', '-'], input: 'addr add 10.1.0.2/24 dev eth0\nlink show dev eth0\nlink set dev eth0 up\n' },
      { file: 'ip', args: ['-d', '-json', '-batch', '-'], input: 'link show dev vh0\nlink set dev vh0 mtu 1400\n' },
    ]);
  });

  it('returns the normalised steps that ran, so they can be reverted later', async () => {
    const { run } = scripted([]);
    const plan = await new IproutesExecutor({ run, ...ctx }).apply([{ ns: HOST_NS, op: { op: 'link.set', name: 'vh0', mac: '02:AB:00:00:00:01' } }]);
    expect(plan.steps).toEqual([{ ns: HOST_NS, op: { op: 'link.set', name: 'vh0', mac: '02:ab:00:00:00:01' } }]);
  });

  it('starts nothing when a referenced namespace does not exist', async () => {
    const { run, calls } = scripted([]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    const err = await kernel.apply([hostUp, { ns: { kind: 'path', path: '/nonexistent/ns' }, op: { op: 'link.set', name: 'lo', up: true } }]).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_NETNS_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toContain('namespace /nonexistent/ns does not exist');
    expect(calls).toEqual([]);
  });
});

// What `ip -d -json link show dev NAME` prints for a link with these flags.
function shown(name: string, flags: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify([{ ifindex: 3, ifname: name, flags, mtu: 1500, address: '02:00:00:00:00:07', ...extra }]);
}

describe('IproutesExecutor rollback', () => {
  it('puts back exactly what a link had, so rolling back "lo up" on an up lo leaves it up', async () => {
    const { run, calls } = scripted([{ stdout: `${shown('lo', ['LOOPBACK', 'UP'])}\n${shown('eth0', ['BROADCAST'], { master: 'br1' })}\n`, exitCode: 1, stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:5\n' }]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    const err = await kernel
      .apply([
        { ns: self, op: { op: 'link.set', name: 'lo', up: true } },
        { ns: self, op: { op: 'link.set', name: 'eth0', up: true, mtu: 1400, master: 'br0' } },
        { ns: self, op: { op: 'route.add', dst: 'default', via: '10.9.0.1' } },
      ])
      .catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_KERNEL_OP_FAILED')).toBe(true);
    expect(calls[1]?.input).toBe('link set dev eth0 mtu 1500 master br1 down\n');
  });

  it('undoes exactly the lines that ran before "Command failed -:3", in reverse, and names the failed step', async () => {
    const { run, calls } = scripted([{ exitCode: 1, stdout: `${shown('vh0', [])}\n`, stderr: 'RTNETLINK answers: File exists\nCommand failed -:4\n' }]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    const err = await kernel.apply([veth, hostUp, { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: 'br0' } }, { ns: HOST_NS, op: { op: 'link.set', name: 'br0', up: true } }]).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_LINK_EXISTS')).toBe(true);
    expect((err as Error).message).toBe('Could not create bridge link "br0" in the host namespace: RTNETLINK answers: File exists');
    expect(calls[1]).toEqual({ file: 'ip', args: ['-force', '-batch', '-'], input: 'link set dev vh0 down\nlink del dev vh0\n' });
    expect(calls.length).toBe(2);
  });

  it('undoes the earlier batches when a later one fails on its first line', async () => {
    const { run, calls } = scripted([{ stdout: `${shown('vh0', [])}\n` }, { exitCode: 1, stderr: 'Device "eth9" does not exist.\nCommand failed -:1\n' }]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    const err = await kernel.apply([veth, hostUp, { ns: self, op: { op: 'link.set', name: 'eth9', up: true } }]).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_LINK_NOT_FOUND')).toBe(true);
    expect(calls.map((c) => c.input)).toEqual([
      'link add name vh0 type veth peer name eth0 netns /proc/self/ns/net\nlink show dev vh0\nlink set dev vh0 up\n',
      'link show dev eth9\nlink set dev eth9 up\n',
      'link set dev vh0 down\nlink del dev vh0\n',
    ]);
  });

  it('goes on in a new batch after deleting a missing link with ifExists', async () => {
    const { run, calls } = scripted([{ exitCode: 1, stderr: 'Cannot find device "old0"\nCommand failed -:1\n' }]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    const plan = await kernel.apply([{ ns: HOST_NS, op: { op: 'link.del', name: 'old0', ifExists: true } }, hostUp]);
    expect(plan.steps.length).toBe(2);
    expect(calls.map((c) => c.input)).toEqual(['link del dev old0\nlink show dev vh0\nlink set dev vh0 up\n', 'link show dev vh0\nlink set dev vh0 up\n']);
  });

  it('says in the error when the rollback itself could not finish', async () => {
    const { run } = scripted([
      { exitCode: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:2\n' },
      { exitCode: 1, stderr: 'RTNETLINK answers: Device or resource busy\nCommand failed -:1\n' },
    ]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    const err = await kernel.apply([veth, { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: 'vh0' } }]).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_LINK_EXISTS')).toBe(true);
    expect((err as Error).message).toContain('rollback incomplete: 1 undo step(s) failed');
  });

  it('reports SWY_ERR_TOOL_MISSING when ip cannot be started', async () => {
    const enoent = Object.assign(new Error('spawn ip ENOENT'), { code: 'ENOENT' });
    const { run } = scripted([enoent, enoent]);
    const err = await new IproutesExecutor({ run, ...ctx }).apply([hostUp]).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_TOOL_MISSING')).toBe(true);
    expect(isSwitchyardError(err) && err.hint).toContain('iproute2');
  });
});

describe('IproutesExecutor revert', () => {
  it('runs every undo batch even when one fails, then reports all failures as SWY_ERR_TEARDOWN_FAILED', async () => {
    const { run, calls } = scripted([{ exitCode: 1, stderr: 'RTNETLINK answers: Operation not permitted\nCommand failed -:1\n' }, {}]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    const err = await kernel.revert({ steps: [veth, { ns: self, op: { op: 'addr.add', dev: 'eth0', cidr: '10.1.0.2/24' } }] }).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_TEARDOWN_FAILED')).toBe(true);
    expect(calls.map((c) => c.input)).toEqual(['addr del 10.1.0.2/24 dev eth0\n', 'link del dev vh0\n']);
  });

  it('counts undo steps whose effect is already gone as done', async () => {
    const { run } = scripted([
      { exitCode: 1, stderr: 'Error: ipv4: Address not found.\nCommand failed -:1\n' },
      { exitCode: 1, stderr: 'Cannot find device "vh0"\nCommand failed -:1\n' },
    ]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    await expect(kernel.revert({ steps: [veth, { ns: self, op: { op: 'addr.add', dev: 'eth0', cidr: '10.1.0.2/24' } }] })).resolves.toBeUndefined();
  });
});

describe('IproutesExecutor host sysctls', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'swy-sysctl-'));
    await mkdir(join(dir, 'net/ipv4'), { recursive: true });
    await writeFile(join(dir, 'net/ipv4/ip_forward'), '0\n');
  });
  afterEach(() => rm(dir, { recursive: true }));

  it('writes host sysctls directly, remembers the old value, and revert puts it back, without starting a process', async () => {
    const { run, calls } = scripted([]);
    const kernel = new IproutesExecutor({ run, procSysDir: dir, ...ctx });
    const plan = await kernel.apply([{ ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } }]);
    expect(await readFile(join(dir, 'net/ipv4/ip_forward'), 'utf8')).toBe('1');
    expect(plan.steps[0]).toMatchObject({ previous: '0' });
    await kernel.revert(plan);
    expect(await readFile(join(dir, 'net/ipv4/ip_forward'), 'utf8')).toBe('0');
    expect(calls).toEqual([]);
  });

  it('reports a sysctl this kernel does not have', async () => {
    const kernel = new IproutesExecutor({ run: scripted([]).run, procSysDir: dir, ...ctx });
    const err = await kernel.apply([{ ns: HOST_NS, op: { op: 'sysctl.set', key: 'net.ipv4.nope', value: '1' } }]).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_KERNEL_OP_FAILED')).toBe(true);
    expect((err as Error).message).toContain('this kernel has no sysctl net.ipv4.nope');
  });
});

describe('IproutesExecutor reads and wiring', () => {
  it('maps ip -json output to links, addresses (without IPv6 link-local) and main-table routes of both families', async () => {
    const links = JSON.stringify([{ ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'UP'], mtu: 1500, address: '02:00:00:00:00:01', master: 'br0', group: 'default', linkinfo: { info_kind: 'veth' } }]);
    const addrs = JSON.stringify([
      {
        ifname: 'eth0',
        addr_info: [
          { family: 'inet', local: '10.1.0.2', prefixlen: 24, scope: 'global' },
          { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
        ],
      },
    ]);
    const routes = JSON.stringify([
      { dst: 'default', gateway: '10.1.0.1', dev: 'eth0', flags: [] },
      { type: 'local', dst: '10.1.0.2', dev: 'eth0', table: 'local', protocol: 'kernel', scope: 'host' },
      { dst: 'fe80::/64', dev: 'eth0', protocol: 'kernel', metric: 256, pref: 'medium' },
      { dst: 'default', dev: 'eth0', metric: 1024, pref: 'medium' },
    ]);
    const { run, calls } = scripted([{ stdout: links }, { stdout: addrs }, { stdout: routes }]);
    const kernel = new IproutesExecutor({ run, ...ctx });
    expect(await kernel.listLinks(self)).toEqual([{ name: 'eth0', index: 2, kind: 'veth', mtu: 1500, mac: '02:00:00:00:00:01', up: true, master: 'br0', group: 0, flags: ['BROADCAST', 'UP'] }]);
    expect(await kernel.listAddrs(self)).toEqual([{ dev: 'eth0', cidr: '10.1.0.2/24', family: 4, scope: 'global' }]);
    expect(await kernel.listRoutes(self)).toEqual([
      { dst: 'default', via: '10.1.0.1', dev: 'eth0', family: 4 },
      { dst: 'default', dev: 'eth0', family: 6 },
    ]);
    expect(calls[0]?.args).toEqual(['--net=/proc/self/ns/net', 'ip', '-d', '-json', 'link', 'show']);
  });

  it('can be resolved from a DI container, with default options or registered ones', async () => {
    expect(rootContainer.createChildContainer().resolve(IproutesExecutor)).toBeInstanceOf(IproutesExecutor);
    const { run, calls } = scripted([{ stdout: '[]' }]);
    const child = rootContainer.createChildContainer();
    child.register(IPROUTES_EXECUTOR_OPTIONS, { useValue: { run, ip: '/sbin/ip' } });
    await child.resolve(IproutesExecutor).listLinks(HOST_NS);
    expect(calls[0]?.file).toBe('/sbin/ip');
  });
});
