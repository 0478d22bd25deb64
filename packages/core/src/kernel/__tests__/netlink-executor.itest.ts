import { isDeepStrictEqual } from 'node:util';
import { rootContainer } from '../../di/decorators.js';
import { IproutesExecutor } from '../iproute2-executor.js';
import { NETLINK_EXECUTOR_OPTIONS, NetlinkExecutor } from '../netlink/netlink-executor.js';
import { execIn, kernelSnapshot, outcomeOf, ping, requireLab, uniqueName } from '../../testing/lab.js';
import { waitUntil } from '../../testing/wait-until.js';
import { HOST_NS, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { isSwitchyardError } from '../../errors/switchyard-error.js';
import { vxlanData } from './vxlan-details.js';

// Real-kernel tests: run via scripts/lab.sh (a private network + mount namespace).

const kernel = new NetlinkExecutor();
const iproute2 = new IproutesExecutor();
const created: string[] = [];
const hostLinks: string[] = [];
let hostBefore: Awaited<ReturnType<typeof kernelSnapshot>>;

async function sandbox(prefix = 'nls'): Promise<NetnsRef & { kind: 'named' }> {
  const name = uniqueName(prefix);
  await kernel.createNetns(name);
  created.push(name);
  return { kind: 'named', name };
}

function hostLink(prefix: string): string {
  const name = uniqueName(prefix);
  hostLinks.push(name);
  return name;
}

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return isSwitchyardError(e) ? { code: e.code, message: e.message } : { code: 'no SwitchyardError', message: String(e) };
}

beforeAll(async () => {
  requireLab();
  hostBefore = await kernelSnapshot();
});

afterAll(async () => {
  for (const name of hostLinks) await execIn(HOST_NS, ['ip', 'link', 'del', name], { allowFailure: true });
  for (const name of created) await kernel.deleteNetns(name);
  kernel.close();
});

describe('NetlinkExecutor on the real kernel', () => {
  it('attaches a sandbox (veth straight into its namespace, host end on a bridge) and the sandbox pings the bridge', async () => {
    const ns = await sandbox();
    const br = hostLink('nbr');
    const host = hostLink('nvh');
    await kernel.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: br } },
      { ns: HOST_NS, op: { op: 'addr.add', dev: br, cidr: '10.81.0.1/24' } },
      { ns: HOST_NS, op: { op: 'link.set', name: br, up: true } },
    ]);
    const attach = await kernel.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: host, peer: { name: 'eth0', netns: ns } } },
      { ns: HOST_NS, op: { op: 'link.set', name: host, master: br, up: true } },
      { ns, op: { op: 'addr.add', dev: 'eth0', cidr: '10.81.0.2/24' } },
      { ns, op: { op: 'link.set', name: 'eth0', up: true } },
      { ns, op: { op: 'link.set', name: 'lo', up: true } },
      { ns, op: { op: 'route.add', dst: 'default', via: '10.81.0.1' } },
    ]);
    expect(await ping(ns, '10.81.0.1')).toBe(true);
    expect((await kernel.listRoutes(ns)).find((r) => r.dst === 'default')).toEqual({ dst: 'default', via: '10.81.0.1', dev: 'eth0', family: 4 });
    await kernel.revert(attach);
    expect((await kernel.listLinks(ns)).map((l) => l.name)).toEqual(['lo']);
    expect((await kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain(host);
  });

  it('lists exactly what the iproute2 executor lists for the same namespace, indexes, MACs and flag words included', async () => {
    const ns = await sandbox();
    await kernel.apply([
      { ns, op: { op: 'link.add', kind: 'bridge', name: 'br0', group: 4 } },
      { ns, op: { op: 'link.add', kind: 'veth', name: 'a0', peer: { name: 'a1' } } },
      { ns, op: { op: 'link.add', kind: 'veth', name: 'b0', peer: { name: 'b1' } } },
      { ns, op: { op: 'link.set', name: 'a0', master: 'br0', up: true } },
      { ns, op: { op: 'link.set', name: 'b0', up: true, promisc: true } },
      { ns, op: { op: 'link.set', name: 'b1', up: true } },
      { ns, op: { op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'b1', mode: 'bridge' } },
      { ns, op: { op: 'addr.add', dev: 'br0', cidr: '10.82.0.1/24' } },
      { ns, op: { op: 'addr.add', dev: 'b0', cidr: 'fd82::1/64', nodad: true } },
      { ns, op: { op: 'addr.add', dev: 'b0', cidr: '10.83.0.1/24' } },
      { ns, op: { op: 'addr.add', dev: 'b0', cidr: '10.83.0.2/24' } },
      { ns, op: { op: 'route.add', dst: '10.84.0.0/16', via: '10.83.0.9' } },
      { ns, op: { op: 'route.add', dst: '10.85.0.7/32', dev: 'b0', metric: 7 } },
      { ns, op: { op: 'route.add', dst: 'default', via: 'fd82::9', family: 6 } },
      { ns, op: { op: 'link.set', name: 'lo', up: true } },
    ]);
    // Operational state (NO-CARRIER) settles asynchronously: compare once both executors agree twice in a row.
    const both = async (): Promise<unknown[]> => [await kernel.listLinks(ns), await kernel.listAddrs(ns), await kernel.listRoutes(ns), await iproute2.listLinks(ns), await iproute2.listAddrs(ns), await iproute2.listRoutes(ns)];
    let seen = await both();
    await waitUntil(async () => isDeepStrictEqual((seen = await both()).slice(0, 3), seen.slice(3)), 'both executors to list the same state').catch(() => undefined);
    expect(seen.slice(0, 3)).toEqual(seen.slice(3));
    expect((seen[0] as Array<{ name: string }>).map((l) => l.name).sort()).toEqual(['a0', 'a1', 'b0', 'b1', 'br0', 'lo', 'mv0']);
  });

  it('rolls back every earlier step, in host and sandbox, when a step in the middle of a plan fails', async () => {
    const ns = await sandbox();
    const br = hostLink('nrb');
    const host = hostLink('nrh');
    await kernel.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: br } },
      { ns, op: { op: 'link.add', kind: 'bridge', name: 'taken' } },
      { ns, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '0' } },
    ]);
    const before = await kernelSnapshot([ns.name]);
    const plan: KernelStep[] = [
      { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: host, peer: { name: 'eth0', netns: ns } } },
      { ns: HOST_NS, op: { op: 'link.set', name: host, master: br, up: true } },
      { ns: HOST_NS, op: { op: 'bridge.port', name: host, hairpin: true } },
      { ns: HOST_NS, op: { op: 'link.set', name: br, up: true, mtu: 1400 } },
      { ns, op: { op: 'addr.add', dev: 'eth0', cidr: '10.86.0.2/24' } },
      { ns, op: { op: 'link.set', name: 'eth0', up: true } },
      { ns, op: { op: 'route.add', dst: 'default', via: '10.86.0.1' } },
      { ns, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } },
      { ns, op: { op: 'link.set', name: 'lo', up: false } },
      { ns, op: { op: 'link.add', kind: 'bridge', name: 'taken' } },
      { ns, op: { op: 'link.set', name: 'lo', up: true } },
    ];
    const err = await errorOf(kernel.apply(plan));
    expect(err.code).toBe('SWY_ERR_LINK_EXISTS');
    expect(err.message).toBe(`Could not create bridge link "taken" in namespace "${ns.name}": File exists`);
    expect(await kernelSnapshot([ns.name])).toEqual(before);
    expect((await execIn(ns, ['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim()).toBe('0');
  });

  it('names an existing link, a missing device, a missing namespace and an unsupported kind with their own codes', async () => {
    const ns = await sandbox();
    await kernel.apply([{ ns, op: { op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'v1' } } }]);
    expect(await errorOf(kernel.apply([{ ns, op: { op: 'link.add', kind: 'bridge', name: 'v0' } }]))).toEqual({
      code: 'SWY_ERR_LINK_EXISTS',
      message: `Could not create bridge link "v0" in namespace "${ns.name}": File exists`,
    });
    expect(await errorOf(kernel.apply([{ ns, op: { op: 'link.set', name: 'v0', master: 'nobridge' } }]))).toEqual({
      code: 'SWY_ERR_LINK_NOT_FOUND',
      message: `Could not change link "v0" (attach to bridge "nobridge") in namespace "${ns.name}": Cannot find device "nobridge"`,
    });
    expect(await errorOf(kernel.apply([{ ns: { kind: 'named', name: 'no-such-ns' }, op: { op: 'link.set', name: 'lo', up: true } }]))).toEqual({
      code: 'SWY_ERR_NETNS_NOT_FOUND',
      message: 'Could not change link "lo" (bring up) in namespace "no-such-ns": namespace "no-such-ns" does not exist',
    });
    // ipvlan is missing on this machine's kernel and present under user-mode Linux: both answers are asserted.
    const ipvlan = await outcomeOf(kernel.apply([{ ns, op: { op: 'link.add', kind: 'ipvlan', name: 'ipv0', parent: 'v0', mode: 'l2', flag: 'bridge' } }]));
    const made = (await kernel.listLinks(ns)).find((l) => l.name === 'ipv0')?.kind;
    await kernel.apply([{ ns, op: { op: 'link.del', name: 'ipv0', ifExists: true } }]);
    expect({ ipvlan, made }).toEqual(
      (await kernel.probe('ipvlan'))
        ? { ipvlan: { ok: true }, made: 'ipvlan' }
        : {
            ipvlan: { code: 'SWY_ERR_KERNEL_FEATURE_MISSING', message: `Could not create ipvlan link "ipv0" on "v0" (mode l2) in namespace "${ns.name}": Unknown device type (Operation not supported)` },
            made: undefined,
          },
    );
    expect((await errorOf(kernel.listLinks({ kind: 'path', path: '/run/netns/no-such-ns' }))).code).toBe('SWY_ERR_NETNS_NOT_FOUND');
    expect((await kernel.listLinks(ns)).map((l) => l.name).sort()).toEqual(['lo', 'v0', 'v1']);
  });

  it('creates a vxlan link whose kernel attributes are the ones asked for (VNI, UDP port, nolearning, proxy, local), as a bridge port', async () => {
    const ns = await sandbox();
    const plan: KernelStep[] = [
      { ns, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
      { ns, op: { op: 'link.add', kind: 'vxlan', name: 'vx-1000', vni: 0x1000, local: '10.84.0.1', mtu: 1450 } },
      { ns, op: { op: 'link.set', name: 'vx-1000', master: 'br0', up: true } },
      { ns, op: { op: 'link.add', kind: 'vxlan', name: 'vx6', vni: 77, port: 8472, local: 'fd00:84::1', learning: true, proxy: false } },
    ];
    // Where the kernel has no vxlan (user-mode Linux without the module), the plan fails as a missing feature.
    const present = await kernel.probe('vxlan');
    const outcome = await outcomeOf(kernel.apply(plan));
    expect('code' in outcome ? outcome.code : 'ok').toBe(present ? 'ok' : 'SWY_ERR_KERNEL_FEATURE_MISSING');
    if (!present) return;
    const show = async (name: string): Promise<Record<string, any>> => (JSON.parse((await execIn(ns, ['ip', '-d', '-j', 'link', 'show', 'dev', name])).stdout) as Array<Record<string, any>>)[0] ?? {};
    const vx = await show('vx-1000');
    expect({ kind: vx.linkinfo?.info_kind, master: vx.master, mtu: vx.mtu, data: vxlanData(vx.linkinfo?.info_data) }).toEqual({
      kind: 'vxlan',
      master: 'br0',
      mtu: 1450,
      data: { id: 4096, port: 4789, learning: false, proxy: true, local: '10.84.0.1' },
    });
    expect(vxlanData((await show('vx6')).linkinfo?.info_data)).toEqual({ id: 77, port: 8472, learning: true, proxy: false, local: 'fd00:84::1' });
    expect((await kernel.listLinks(ns)).filter((l) => l.kind === 'vxlan').map((l) => l.name)).toEqual(['vx-1000', 'vx6']);
    // The kernel keeps one vxlan link per VNI and port (and family) in a namespace.
    expect((await errorOf(kernel.apply([{ ns, op: { op: 'link.add', kind: 'vxlan', name: 'vx2', vni: 0x1000 } }]))).code).toBe('SWY_ERR_LINK_EXISTS');
  });

  it('creates a named namespace in this process as ip netns add does (loopback up, seen by ip), refuses a taken name, and deletes it as ip netns del does', async () => {
    const ns = await sandbox('nlc');
    // The first namespace of a lab goes through `ip netns add` (it makes /run/netns a shared mount); this one is made in-process.
    const listed = await execIn(HOST_NS, ['ip', 'netns', 'list']);
    expect(listed.stdout).toContain(ns.name);
    const lo = await execIn(HOST_NS, ['ip', '-n', ns.name, '-br', 'link', 'show', 'dev', 'lo']);
    expect(lo.stdout).toMatch(/^lo\s+UNKNOWN/);
    // Not the host's namespace: a link made in it is not on the host.
    await kernel.apply([{ ns, op: { op: 'link.add', kind: 'bridge', name: 'inner0' } }]);
    expect((await kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain('inner0');
    expect(await errorOf(kernel.createNetns(ns.name))).toEqual({ code: 'SWY_ERR_SANDBOX_EXISTS', message: `Network namespace "${ns.name}" already exists` });
    expect((await kernel.listLinks(ns)).map((l) => l.name)).toEqual(['lo', 'inner0']);
    await kernel.deleteNetns(ns.name);
    expect(await kernel.netnsExists(ns)).toBe(false);
    expect((await execIn(HOST_NS, ['ip', 'netns', 'list'])).stdout).not.toContain(ns.name);
    await kernel.deleteNetns(ns.name); // already gone: fine
  });

  it('works on a namespace deleted and created again under the same name', async () => {
    const ns = await sandbox();
    await kernel.apply([{ ns, op: { op: 'link.add', kind: 'bridge', name: 'first' } }]);
    await kernel.deleteNetns(ns.name);
    await kernel.createNetns(ns.name);
    await kernel.apply([{ ns, op: { op: 'link.add', kind: 'bridge', name: 'second' } }]);
    expect((await kernel.listLinks(ns)).map((l) => l.name)).toEqual(['lo', 'second']);
  });

  it('does not keep a namespace alive after someone else deletes it: its veth peer in the host goes away', async () => {
    const ns = await sandbox();
    const host = hostLink('nka');
    await kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: host, peer: { name: 'eth0', netns: ns } } }]);
    expect((await kernel.listLinks(ns)).map((l) => l.name)).toEqual(['lo', 'eth0']);
    await execIn(HOST_NS, ['ip', 'netns', 'del', ns.name]);
    // The kernel tears a namespace down asynchronously once nothing holds it.
    await waitUntil(async () => !(await kernel.listLinks(HOST_NS)).some((l) => l.name === host), `the host end ${host} of a veth whose namespace was deleted to go`);
    expect((await kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain(host);
  });

  it('sets a sysctl inside a namespace only, and revert puts back the value it replaced', async () => {
    const ns = await sandbox();
    const read = async (where: NetnsRef): Promise<string> => (await execIn(where, ['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim();
    const hostValue = await read(HOST_NS);
    const original = await read(ns);
    const flipped = original === '1' ? '0' : '1';
    const plan = await kernel.apply([{ ns, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: flipped } }]);
    expect([await read(ns), await read(HOST_NS)]).toEqual([flipped, hostValue]);
    await kernel.revert(plan);
    expect(await read(ns)).toBe(original);
    expect((await errorOf(kernel.apply([{ ns, op: { op: 'sysctl.set', key: 'net.ipv4.no_such_key', value: '1' } }]))).code).toBe('SWY_ERR_KERNEL_OP_FAILED');
  });

  it('opens its sockets again after close()', async () => {
    const ns = await sandbox();
    const fresh = new NetlinkExecutor();
    expect((await fresh.listLinks(ns)).map((l) => l.name)).toEqual(['lo']);
    fresh.close();
    await fresh.apply([{ ns, op: { op: 'link.add', kind: 'bridge', name: 'again' } }]);
    expect((await fresh.listLinks(ns)).map((l) => l.name)).toEqual(['lo', 'again']);
    fresh.close();
  });

  it('can be built by the DI container, with or without options', async () => {
    const child = rootContainer.createChildContainer();
    expect(child.resolve(NetlinkExecutor)).toBeInstanceOf(NetlinkExecutor);
    child.register(NETLINK_EXECUTOR_OPTIONS, { useValue: { procSysDir: '/proc/sys' } });
    const k = child.resolve(NetlinkExecutor);
    expect((await k.listLinks(HOST_NS)).some((l) => l.name === 'lo')).toBe(true);
    k.close();
  });
});

describe('the lab after these tests', () => {
  it('has the same links, addresses and routes as before, once the namespaces are deleted', async () => {
    for (const name of hostLinks.splice(0)) await execIn(HOST_NS, ['ip', 'link', 'del', name], { allowFailure: true });
    for (const name of created.splice(0)) await kernel.deleteNetns(name);
    expect(await kernelSnapshot()).toEqual(hostBefore);
  });
});
