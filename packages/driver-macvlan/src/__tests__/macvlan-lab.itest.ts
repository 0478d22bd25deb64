import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_NS, createSwitchyard, stripPrefix, type Switchyard } from '@switchyard/core';
import { execIn, isolatedFrom, kernelSnapshot, outcomeOf, ping, requireLab, type KernelSnapshot } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import macvlanDriver, { shimName } from '../index.js';

// The master is a veth pair made in the lab's own namespace (never the machine's eth0).
const MASTER = 'lab-m0';
const PEER = 'lab-m1';

describe('macvlan on the real kernel (lab namespace)', () => {
  let sy: Switchyard;
  let stateDir: string;
  let before: KernelSnapshot;

  beforeAll(async () => {
    requireLab();
    await execIn(HOST_NS, ['ip', 'link', 'add', MASTER, 'type', 'veth', 'peer', 'name', PEER]);
    await execIn(HOST_NS, ['ip', 'link', 'set', MASTER, 'up']);
    await execIn(HOST_NS, ['ip', 'link', 'set', PEER, 'up']);
    before = await kernelSnapshot();
  });

  afterAll(async () => {
    if (process.env.SWITCHYARD_LAB === '1') await execIn(HOST_NS, ['ip', 'link', 'del', MASTER], { allowFailure: true });
  });

  beforeEach(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'swy-macvlan-'));
    sy = await createSwitchyard({ stateDir, drivers: [macvlanDriver], ipams: [hostLocal], autoloadPlugins: false, durable: false });
  });

  afterEach(async () => {
    // Whatever a failed test left: sandboxes first (their namespaces hold the macvlans), then networks.
    for (const s of await sy.controller.listSandboxes()) await sy.controller.deleteSandbox(s.name).catch(() => undefined);
    for (const n of await sy.controller.listNetworks()) await sy.controller.deleteNetwork(n.name).catch(() => undefined);
    await sy.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  async function twoSandboxes(network: string): Promise<{ a: string; b: string }> {
    await sy.controller.createSandbox({ name: `${network}-a` });
    await sy.controller.createSandbox({ name: `${network}-b` });
    const a = await sy.controller.connect(network, `${network}-a`);
    const b = await sy.controller.connect(network, `${network}-b`);
    return { a: stripPrefix(a.ipv4 ?? ''), b: stripPrefix(b.ipv4 ?? '') };
  }

  it('lets two sandboxes on one master ping each other in bridge mode, through interfaces named eth0', async () => {
    await sy.controller.createNetwork({ name: 'mvb', driver: 'macvlan', options: { master: MASTER }, ipam: { ipv4: [{ subnet: '10.61.0.0/24' }] } });
    const { a, b } = await twoSandboxes('mvb');
    const inA = await sy.controller.inspectSandbox('mvb-a');
    const eth0 = (await sy.kernel.listLinks(inA.netns)).find((l) => l.name === 'eth0');
    expect(eth0).toMatchObject({ kind: 'macvlan', up: true });
    expect(await ping(inA.netns, b)).toBe(true);
    expect(await ping((await sy.controller.inspectSandbox('mvb-b')).netns, a)).toBe(true);
  });

  it('keeps two sandboxes on one master apart in private mode', async () => {
    await sy.controller.createNetwork({ name: 'mvp', driver: 'macvlan', options: { master: MASTER, mode: 'private' }, ipam: { ipv4: [{ subnet: '10.62.0.0/24' }] } });
    const { b } = await twoSandboxes('mvp');
    const inA = await sy.controller.inspectSandbox('mvp-a');
    // A LAN host beyond the master (the veth peer, given an address in the subnet) answers both sandboxes; they cannot reach each other.
    await execIn(HOST_NS, ['ip', 'addr', 'add', '10.62.0.250/24', 'dev', PEER]);
    try {
      expect(await isolatedFrom(inA.netns, b, { control: '10.62.0.250' })).toBe(true);
    } finally {
      await execIn(HOST_NS, ['ip', 'addr', 'del', '10.62.0.250/24', 'dev', PEER]);
    }
  });

  it('leaves the host that owns the master unable to reach the sandboxes without a shim, even with an address in their subnet', async () => {
    await sy.controller.createNetwork({ name: 'mvn', driver: 'macvlan', options: { master: MASTER }, ipam: { ipv4: [{ subnet: '10.63.0.0/24' }] } });
    const { a, b } = await twoSandboxes('mvn');
    // The host joins the subnet on the master, as a LAN host would; macvlan still never passes its traffic up.
    await execIn(HOST_NS, ['ip', 'addr', 'add', '10.63.0.250/24', 'dev', MASTER]);
    try {
      // The control: the same network carries traffic between the sandboxes.
      expect(await isolatedFrom(HOST_NS, a, { control: { ns: (await sy.controller.inspectSandbox('mvn-a')).netns, address: b } })).toBe(true);
    } finally {
      await execIn(HOST_NS, ['ip', 'addr', 'del', '10.63.0.250/24', 'dev', MASTER]);
    }
  });

  it('lets the host reach the sandboxes, and them the host, through the host shim; the shim goes with the network', async () => {
    const net = await sy.controller.createNetwork({ name: 'mvs', driver: 'macvlan', options: { master: MASTER, hostShim: true }, ipam: { ipv4: [{ subnet: '10.64.0.0/24' }] } });
    const { a, b } = await twoSandboxes('mvs');
    expect(await ping(HOST_NS, a)).toBe(true);
    expect(await ping(HOST_NS, b)).toBe(true);
    expect(await ping((await sy.controller.inspectSandbox('mvs-a')).netns, '10.64.0.254')).toBe(true);
    await sy.controller.deleteSandbox('mvs-a');
    await sy.controller.deleteSandbox('mvs-b');
    await sy.controller.deleteNetwork('mvs');
    expect((await sy.kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain(shimName(net.id));
  });

  it('refuses an MTU above the master MTU with SWY_ERR_MTU_TOO_LARGE and applies a smaller one to the sandbox interface', async () => {
    const err = await sy.controller.createNetwork({ name: 'mvm', driver: 'macvlan', options: { master: MASTER, mtu: 9000 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SWY_ERR_MTU_TOO_LARGE', message: expect.stringMatching(/9000.*1500/) });
    expect(await sy.controller.listNetworks()).toEqual([]);
    await sy.controller.createNetwork({ name: 'mvm2', driver: 'macvlan', options: { master: MASTER, mtu: 1400 }, ipam: { ipv4: [{ subnet: '10.65.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 'mvm-a' });
    await sy.controller.connect('mvm2', 'mvm-a');
    expect((await sy.kernel.listLinks(sb.netns)).find((l) => l.name === 'eth0')?.mtu).toBe(1400);
  });

  it('reports an 802.1Q master the way this kernel allows: created and removed with the network, or SWY_ERR_KERNEL_FEATURE_MISSING', async () => {
    // Ask the kernel directly, not through Switchyard's probe, whether it can make VLAN links.
    const made = await execIn(HOST_NS, ['ip', 'link', 'add', 'link', MASTER, 'name', 'lab-vprobe', 'type', 'vlan', 'id', '99'], { allowFailure: true });
    if (made.exitCode === 0) await execIn(HOST_NS, ['ip', 'link', 'del', 'lab-vprobe']);
    const created = await outcomeOf(sy.controller.createNetwork({ name: 'mvv', driver: 'macvlan', options: { master: `${MASTER}.10` } }));
    const vlan = (await sy.kernel.listLinks(HOST_NS)).find((l) => l.name === `${MASTER}.10`);
    expect({ created, vlan: vlan && { kind: vlan.kind, up: vlan.up } }).toEqual(
      made.exitCode === 0
        ? { created: { ok: true }, vlan: { kind: 'vlan', up: true } }
        : { created: { code: 'SWY_ERR_KERNEL_FEATURE_MISSING', message: `The macvlan master ${MASTER}.10 is an 802.1Q VLAN link, and this kernel cannot create VLAN links (no 8021q)` }, vlan: undefined },
    );
    await sy.controller.deleteNetwork('mvv').catch(() => undefined);
    expect((await sy.kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain(`${MASTER}.10`);
  });

  it('leaves no link, address, route or namespace behind after disconnect, sandbox removal and network delete', async () => {
    await sy.controller.createNetwork({ name: 'mvl', driver: 'macvlan', options: { master: MASTER, hostShim: true }, ipam: { ipv4: [{ subnet: '10.66.0.0/24' }] } });
    await twoSandboxes('mvl');
    await sy.controller.disconnect('mvl', 'mvl-a');
    await sy.settle();
    const inA = await sy.controller.inspectSandbox('mvl-a');
    expect((await sy.kernel.listLinks(inA.netns)).map((l) => l.name)).toEqual(['lo']);
    await sy.controller.deleteSandbox('mvl-a');
    await sy.controller.deleteSandbox('mvl-b');
    await sy.controller.deleteNetwork('mvl');
    expect(await kernelSnapshot()).toEqual(before);
  });
});
