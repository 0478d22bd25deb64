import { FakeKernel } from '../../testing/fake-kernel.js';
import { HOST_NS, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { SwitchyardError, isSwitchyardError } from '../../errors/switchyard-error.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return isSwitchyardError(e) ? e.code : `not a SwitchyardError: ${String(e)}`;
}

let kernel: FakeKernel;
let sb: NetnsRef;

beforeEach(async () => {
  kernel = new FakeKernel();
  sb = await kernel.createNetns('sb1');
});

const attach = (host = 'vh0'): KernelStep[] => [
  { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: host, peer: { name: 'eth0', netns: sb } } },
  { ns: HOST_NS, op: { op: 'link.set', name: host, up: true } },
  { ns: sb, op: { op: 'addr.add', dev: 'eth0', cidr: '10.1.0.2/24' } },
  { ns: sb, op: { op: 'link.set', name: 'eth0', up: true } },
  { ns: sb, op: { op: 'route.add', dst: 'default', via: '10.1.0.1' } },
];

describe('FakeKernel state', () => {
  it('reverts two IPv6 routes to one destination, the second without a metric, to no route at all', async () => {
    const plan = await kernel.apply([
      { ns: sb, op: { op: 'route.add', dst: 'fd00:9::/64', dev: 'lo', metric: 3, onlink: true } },
      { ns: sb, op: { op: 'route.add', dst: 'fd00:9::/64', dev: 'lo' } },
    ]);
    await kernel.revert(plan);
    expect((await kernel.listRoutes(sb)).filter((r) => r.dst === 'fd00:9::/64')).toEqual([]);
  });

  it('creates vxlan links, refuses a second one with the same VNI, port and address family as the kernel does, and enslaves one to a bridge', async () => {
    await kernel.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
      { ns: HOST_NS, op: { op: 'link.add', kind: 'vxlan', name: 'vx0', vni: 4096, local: '10.0.0.1', mtu: 1450 } },
      { ns: HOST_NS, op: { op: 'link.set', name: 'vx0', master: 'br0', up: true } },
    ]);
    expect((await kernel.listLinks(HOST_NS)).find((l) => l.name === 'vx0')).toMatchObject({ kind: 'vxlan', mtu: 1450, master: 'br0', up: true });
    const links = (kernel.snapshot().host as { links: Array<{ name: string; vxlan?: unknown }> }).links;
    expect(links.find((l) => l.name === 'vx0')?.vxlan).toEqual({ vni: 4096, port: 4789, local: '10.0.0.1', learning: false, proxy: true });
    expect(await codeOf(kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'vxlan', name: 'vx1', vni: 4096 } }]))).toBe('SWY_ERR_LINK_EXISTS');
    // Another port, another family, another namespace: no clash.
    await kernel.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'vxlan', name: 'vx2', vni: 4096, port: 8472 } },
      { ns: HOST_NS, op: { op: 'link.add', kind: 'vxlan', name: 'vx3', vni: 4096, local: 'fd00::1' } },
      { ns: sb, op: { op: 'link.add', kind: 'vxlan', name: 'vx0', vni: 4096 } },
    ]);
    expect(kernel.linkNames(HOST_NS)).toEqual(['br0', 'lo', 'vx0', 'vx2', 'vx3']);
    expect((await kernel.listLinks(sb)).find((l) => l.name === 'vx0')?.mtu).toBe(1500);
    const without = new FakeKernel({ features: { vxlan: false } });
    expect(await without.probe('vxlan')).toBe(false);
    expect(await codeOf(without.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'vxlan', name: 'vx0', vni: 1 } }]))).toBe('SWY_ERR_KERNEL_FEATURE_MISSING');
  });

  it('starts every namespace with lo up and its loopback addresses', async () => {
    expect(kernel.linkNames(sb)).toEqual(['lo']);
    expect((await kernel.listLinks(sb))[0]).toMatchObject({ name: 'lo', up: true, mtu: 65536 });
    expect((await kernel.listAddrs(sb)).map((a) => `${a.cidr} ${a.scope}`)).toEqual(['127.0.0.1/8 host', '::1/128 host']);
  });

  it('creates a veth pair across namespaces with addresses, the prefix route and a default route', async () => {
    await kernel.apply(attach());
    expect(kernel.linkNames(HOST_NS)).toEqual(['lo', 'vh0']);
    expect(kernel.linkNames(sb)).toEqual(['eth0', 'lo']);
    expect(await kernel.listRoutes(sb)).toEqual([
      { dst: '10.1.0.0/24', family: 4, dev: 'eth0', scope: 'link', protocol: 'kernel' },
      { dst: 'default', family: 4, dev: 'eth0', via: '10.1.0.1' },
    ]);
    expect(kernel.history.map((s) => s.op.op)).toEqual(['link.add', 'link.set', 'addr.add', 'link.set', 'route.add']);
  });

  it('takes 1023 ports on a bridge, as Linux does, and refuses the next with SWY_ERR_BRIDGE_FULL, as the real executors report EXFULL', async () => {
    const ports = Array.from({ length: 1023 }, (_, i) => `p${i}`);
    await kernel.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
      ...ports.flatMap((p): KernelStep[] => [
        { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: p, peer: { name: `${p}x` } } },
        { ns: HOST_NS, op: { op: 'link.set', name: p, master: 'br0' } },
      ]),
      { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'extra', peer: { name: 'extrax' } } },
    ]);
    // Enslaving a port again is no new port.
    await kernel.apply([{ ns: HOST_NS, op: { op: 'link.set', name: 'p0', master: 'br0' } }]);
    expect(await codeOf(kernel.apply([{ ns: HOST_NS, op: { op: 'link.set', name: 'extra', master: 'br0' } }]))).toBe('SWY_ERR_BRIDGE_FULL');
  });

  it('refuses an existing link name with SWY_ERR_LINK_EXISTS, also for a veth peer name', async () => {
    await kernel.apply(attach());
    expect(await codeOf(kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: 'vh0' } }]))).toBe('SWY_ERR_LINK_EXISTS');
    expect(await codeOf(kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'vh9', peer: { name: 'eth0', netns: sb } } }]))).toBe('SWY_ERR_LINK_EXISTS');
  });

  it('reports a missing device as SWY_ERR_LINK_NOT_FOUND, for links, addresses and bridge masters', async () => {
    expect(await codeOf(kernel.apply([{ ns: sb, op: { op: 'link.set', name: 'eth9', up: true } }]))).toBe('SWY_ERR_LINK_NOT_FOUND');
    expect(await codeOf(kernel.apply([{ ns: sb, op: { op: 'addr.add', dev: 'eth9', cidr: '10.0.0.1/24' } }]))).toBe('SWY_ERR_LINK_NOT_FOUND');
    expect(await codeOf(kernel.apply([{ ns: sb, op: { op: 'link.set', name: 'lo', master: 'br9' } }]))).toBe('SWY_ERR_LINK_NOT_FOUND');
    expect(await codeOf(kernel.apply([{ ns: sb, op: { op: 'link.del', name: 'eth9' } }]))).toBe('SWY_ERR_LINK_NOT_FOUND');
  });

  it('treats deleting a missing link with ifExists as success', async () => {
    const plan = await kernel.apply([{ ns: sb, op: { op: 'link.del', name: 'eth9', ifExists: true } }]);
    expect(plan.steps.length).toBe(1);
  });

  it('reports a missing namespace as SWY_ERR_NETNS_NOT_FOUND, as step namespace or as target', async () => {
    const gone: NetnsRef = { kind: 'named', name: 'gone' };
    expect(await codeOf(kernel.apply([{ ns: gone, op: { op: 'link.set', name: 'lo', up: true } }]))).toBe('SWY_ERR_NETNS_NOT_FOUND');
    expect(await codeOf(kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'v1', netns: gone } } }]))).toBe('SWY_ERR_NETNS_NOT_FOUND');
    expect(await codeOf(kernel.listLinks(gone))).toBe('SWY_ERR_NETNS_NOT_FOUND');
  });

  it('deletes both veth ends when one is deleted, wherever the peer is', async () => {
    await kernel.apply(attach());
    await kernel.apply([{ ns: sb, op: { op: 'link.del', name: 'eth0' } }]);
    expect(kernel.linkNames(HOST_NS)).toEqual(['lo']);
    expect(await kernel.listRoutes(sb)).toEqual([]);
  });

  it('deleting a namespace deletes its links and their veth peers in other namespaces', async () => {
    await kernel.apply(attach());
    await kernel.deleteNetns('sb1');
    expect(kernel.linkNames(HOST_NS)).toEqual(['lo']);
    expect(await kernel.netnsExists(sb)).toBe(false);
    await kernel.deleteNetns('sb1'); // idempotent
  });

  it('releases the ports of a deleted bridge, which keep existing', async () => {
    await kernel.apply([
      { ns: sb, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
      { ns: sb, op: { op: 'link.add', kind: 'veth', name: 'p0', peer: { name: 'p1' } } },
      { ns: sb, op: { op: 'link.set', name: 'p0', master: 'br0' } },
      { ns: sb, op: { op: 'bridge.port', name: 'p0', hairpin: true } },
    ]);
    expect((await kernel.listLinks(sb)).find((l) => l.name === 'p0')?.master).toBe('br0');
    await kernel.apply([{ ns: sb, op: { op: 'link.del', name: 'br0' } }]);
    expect((await kernel.listLinks(sb)).find((l) => l.name === 'p0')?.master).toBeUndefined();
    expect(await codeOf(kernel.apply([{ ns: sb, op: { op: 'bridge.port', name: 'p0', isolated: true } }]))).toBe('SWY_ERR_KERNEL_OP_FAILED');
  });

  it('refuses a route via a gateway no link reaches, unless it is marked onlink', async () => {
    await kernel.apply([
      { ns: sb, op: { op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'v1' } } },
      { ns: sb, op: { op: 'link.set', name: 'v0', up: true } },
    ]);
    expect(await codeOf(kernel.apply([{ ns: sb, op: { op: 'route.add', dst: 'default', via: '10.9.0.1' } }]))).toBe('SWY_ERR_KERNEL_OP_FAILED');
    await kernel.apply([{ ns: sb, op: { op: 'route.add', dst: 'default', via: '10.9.0.1', dev: 'v0', onlink: true } }]);
    expect((await kernel.listRoutes(sb)).map((r) => r.dst)).toEqual(['default']);
  });

  it('drops IPv6 addresses and every route of a link that goes down, and everything of a link moved away', async () => {
    await kernel.apply([...attach(), { ns: sb, op: { op: 'addr.add', dev: 'eth0', cidr: 'fd00::2/64', nodad: true } }, { ns: sb, op: { op: 'link.set', name: 'eth0', up: false } }]);
    expect((await kernel.listAddrs(sb)).filter((a) => a.dev === 'eth0').map((a) => a.cidr)).toEqual(['10.1.0.2/24']);
    expect(await kernel.listRoutes(sb)).toEqual([]);
    await kernel.apply([{ ns: sb, op: { op: 'link.set', name: 'eth0', netns: HOST_NS, newName: 'back0' } }]);
    expect((await kernel.listAddrs(HOST_NS)).filter((a) => a.dev === 'back0')).toEqual([]);
  });

  it('has every link kind of a stock kernel by default, and refuses the ones it is told are missing with SWY_ERR_KERNEL_FEATURE_MISSING', async () => {
    const ipvlan: KernelStep = { ns: sb, op: { op: 'link.add', kind: 'ipvlan', name: 'ip0', parent: 'lo', mode: 'l2', flag: 'bridge' } };
    expect(await Promise.all((['veth', 'bridge', 'macvlan', 'ipvlan', 'vlan', 'dummy', 'vxlan', 'nftables'] as const).map((f) => kernel.probe(f)))).toEqual([true, true, true, true, true, true, true, true]);
    const withoutIpvlan = new FakeKernel({ features: { ipvlan: false } });
    await withoutIpvlan.createNetns('sb1');
    expect(await withoutIpvlan.probe('ipvlan')).toBe(false);
    expect(await withoutIpvlan.probe('macvlan')).toBe(true);
    expect(await codeOf(withoutIpvlan.apply([ipvlan]))).toBe('SWY_ERR_KERNEL_FEATURE_MISSING');
    expect(withoutIpvlan.linkNames(sb)).toEqual(['lo']);
    await kernel.apply([ipvlan]);
    expect(kernel.linkNames(sb)).toEqual(['ip0', 'lo']);
  });

  it('refuses a second namespace of the same name with SWY_ERR_SANDBOX_EXISTS', async () => {
    expect(await codeOf(kernel.createNetns('sb1'))).toBe('SWY_ERR_SANDBOX_EXISTS');
  });

  it('refuses bad input before changing anything', async () => {
    const before = kernel.snapshot();
    const plan = [attach()[0], { ns: sb, op: { op: 'addr.add', dev: 'eth0', cidr: '10.1.0.2/24\nlink del eth0' } }] as KernelStep[];
    expect(await codeOf(kernel.apply(plan))).toBe('SWY_ERR_INVALID_CIDR');
    expect(kernel.snapshot()).toEqual(before);
  });
});

describe('FakeKernel rollback', () => {
  it('leaves the snapshot exactly as before when any step of a plan fails', async () => {
    for (let i = 0; i < attach().length; i++) {
      const k = new FakeKernel();
      await k.createNetns('sb1');
      const before = k.snapshot();
      k.failAt((_step, index) => index === i);
      expect(await codeOf(k.apply(attach()))).toBe('SWY_ERR_KERNEL_OP_FAILED');
      expect(k.snapshot()).toEqual(before);
      expect(k.undone.length).toBeGreaterThanOrEqual(i > 0 ? 1 : 0);
    }
  });

  it('keeps lo up when rolling back a plan that brought the already-up lo up', async () => {
    const before = kernel.snapshot();
    kernel.failAt((step) => step.op.op === 'route.add');
    await expect(kernel.apply([{ ns: sb, op: { op: 'link.set', name: 'lo', up: true } }, ...attach()])).rejects.toMatchObject({ code: 'SWY_ERR_KERNEL_OP_FAILED' });
    expect(kernel.snapshot()).toEqual(before);
  });

  it('fails a matching step only once and throws the injected error', async () => {
    const boom = new SwitchyardError('SWY_ERR_PERMISSION_DENIED', 'no');
    kernel.failAt((step) => step.op.op === 'route.add', boom);
    await expect(kernel.apply(attach())).rejects.toBe(boom);
    await kernel.apply(attach());
    expect(kernel.linkNames(sb)).toEqual(['eth0', 'lo']);
  });

  it('reverts an applied plan, including a sysctl back to its previous value', async () => {
    await kernel.apply([{ ns: sb, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '0' } }]);
    const before = kernel.snapshot();
    const plan = await kernel.apply([...attach(), { ns: sb, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } }]);
    expect(kernel.sysctl(sb, 'net.ipv4.ip_forward')).toBe('1');
    await kernel.revert(plan);
    expect(kernel.snapshot()).toEqual(before);
  });

  it('reverts a plan whose namespace is already gone without complaint', async () => {
    const plan = await kernel.apply(attach());
    await kernel.deleteNetns('sb1');
    await kernel.revert(plan);
    expect(kernel.linkNames(HOST_NS)).toEqual(['lo']);
  });

  it('moves a link back where it came from when a later step fails', async () => {
    await kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'tmp0', peer: { name: 'tmp1' } } }]);
    const before = kernel.snapshot();
    const err = await kernel
      .apply([
        { ns: HOST_NS, op: { op: 'link.set', name: 'tmp1', netns: sb, newName: 'eth0' } },
        { ns: sb, op: { op: 'link.set', name: 'eth0', up: true } },
        { ns: sb, op: { op: 'link.add', kind: 'bridge', name: 'eth0' } },
      ])
      .catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_LINK_EXISTS')).toBe(true);
    expect(kernel.snapshot()).toEqual(before);
  });
});
