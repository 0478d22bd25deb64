import { mkdir, rm, writeFile } from 'node:fs/promises';
import { IproutesExecutor } from '../iproute2-executor.js';
import { execaRunner, type ProcessRunner } from '../process-runner.js';
import { FakeKernel } from '../../testing/fake-kernel.js';
import { execIn, kernelSnapshot, ping, probeFeatures, requireLab, uniqueName } from '../../testing/lab.js';
import { waitUntil } from '../../testing/wait-until.js';
import { HOST_NS, type Kernel, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { isSwitchyardError } from '../../errors/switchyard-error.js';

// Real-kernel tests: run via scripts/lab.sh (a private network + mount namespace).

const spawns: Array<{ file: string; args: readonly string[] }> = [];
const countingRunner: ProcessRunner = (file, args, input) => {
  spawns.push({ file, args });
  return execaRunner(file, args, input);
};
const kernel = new IproutesExecutor({ run: countingRunner });
const created: string[] = [];
let hostBefore: Awaited<ReturnType<typeof kernelSnapshot>>;

async function sandbox(prefix = 'sb'): Promise<NetnsRef & { kind: 'named' }> {
  const name = uniqueName(prefix);
  await kernel.createNetns(name);
  created.push(name);
  return { kind: 'named', name };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  return isSwitchyardError(e) ? e.code : `not a SwitchyardError: ${String(e)}`;
}

beforeAll(async () => {
  requireLab();
  hostBefore = await kernelSnapshot();
});

afterAll(async () => {
  for (const name of created) await kernel.deleteNetns(name);
});

describe('IproutesExecutor on the real kernel', () => {
  it('creates a namespace with lo up, refuses the same name again, and deletes it idempotently', async () => {
    const ns = await sandbox();
    const lo = (await kernel.listLinks(ns)).find((l) => l.name === 'lo');
    expect(lo?.up).toBe(true);
    expect(await kernel.netnsExists(ns)).toBe(true);
    expect(await codeOf(kernel.createNetns(ns.name))).toBe('SWY_ERR_SANDBOX_EXISTS');
    await kernel.deleteNetns(ns.name);
    await kernel.deleteNetns(ns.name);
    expect(await kernel.netnsExists(ns)).toBe(false);
  });

  it('runs a typical attach plan in two ip processes and the sandbox can ping the host end', async () => {
    const ns = await sandbox();
    const host = uniqueName('vh');
    spawns.length = 0;
    await kernel.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: host, peer: { name: 'eth0', netns: ns } } },
      { ns: HOST_NS, op: { op: 'addr.add', dev: host, cidr: '10.77.0.1/24' } },
      { ns: HOST_NS, op: { op: 'link.set', name: host, up: true } },
      { ns, op: { op: 'addr.add', dev: 'eth0', cidr: '10.77.0.2/24' } },
      { ns, op: { op: 'link.set', name: 'eth0', up: true } },
      { ns, op: { op: 'route.add', dst: 'default', via: '10.77.0.1' } },
    ]);
    expect(spawns.length).toBe(2);
    expect(await ping(ns, '10.77.0.1')).toBe(true);
    expect((await kernel.listRoutes(ns)).find((r) => r.dst === 'default')).toMatchObject({ via: '10.77.0.1', dev: 'eth0', family: 4 });
    await kernel.apply([{ ns: HOST_NS, op: { op: 'link.del', name: host } }]);
    expect((await kernel.listLinks(ns)).map((l) => l.name)).toEqual(['lo']);
  });

  it('builds a bridge with two ports, sets hairpin and isolated on one, and lists the ports under their master', async () => {
    const ns = await sandbox();
    await kernel.apply([
      { ns, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
      { ns, op: { op: 'link.add', kind: 'veth', name: 'p0', peer: { name: 'p0x' } } },
      { ns, op: { op: 'link.add', kind: 'veth', name: 'p1', peer: { name: 'p1x' } } },
      { ns, op: { op: 'link.set', name: 'p0', master: 'br0', up: true } },
      { ns, op: { op: 'link.set', name: 'p1', master: 'br0', up: true } },
      { ns, op: { op: 'bridge.port', name: 'p1', hairpin: true, isolated: true } },
      { ns, op: { op: 'link.set', name: 'br0', up: true } },
    ]);
    const links = await kernel.listLinks(ns);
    expect(
      links
        .filter((l) => l.master === 'br0')
        .map((l) => l.name)
        .sort(),
    ).toEqual(['p0', 'p1']);
    const details = JSON.parse((await execIn(ns, ['ip', '-d', '-json', 'link', 'show', 'p1'])).stdout) as Array<{ linkinfo: { info_slave_data: { hairpin: boolean; isolated: boolean } } }>;
    expect(details[0]?.linkinfo.info_slave_data).toMatchObject({ hairpin: true, isolated: true });
  });

  it('creates a macvlan link on top of a veth', async () => {
    const ns = await sandbox();
    await kernel.apply([
      { ns, op: { op: 'link.add', kind: 'veth', name: 'lower', peer: { name: 'lowerx' }, mtu: 1400 } },
      { ns, op: { op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'lower', mode: 'bridge' } },
    ]);
    expect((await kernel.listLinks(ns)).find((l) => l.name === 'mv0')).toMatchObject({ kind: 'macvlan', mtu: 1400 });
  });

  it('undoes every earlier step when step 5 of 7 meets a duplicate link name, leaving the kernel as it was (lo stays up)', async () => {
    const a = await sandbox();
    const b = await sandbox();
    await kernel.apply([{ ns: b, op: { op: 'link.add', kind: 'bridge', name: 'taken' } }]);
    const before = await kernelSnapshot([a.name, b.name]);
    const err = await kernel
      .apply([
        { ns: a, op: { op: 'link.set', name: 'lo', up: true } },
        { ns: a, op: { op: 'link.add', kind: 'veth', name: 'x0', peer: { name: 'x1', netns: b } } },
        { ns: a, op: { op: 'addr.add', dev: 'x0', cidr: '10.78.0.1/24' } },
        { ns: a, op: { op: 'link.set', name: 'x0', up: true } },
        { ns: b, op: { op: 'link.add', kind: 'bridge', name: 'taken' } },
        { ns: b, op: { op: 'link.set', name: 'x1', up: true } },
        { ns: b, op: { op: 'addr.add', dev: 'x1', cidr: '10.78.0.2/24' } },
      ])
      .catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_LINK_EXISTS')).toBe(true);
    expect((err as Error).message).toContain('create bridge link "taken"');
    expect((err as Error).message).toContain('File exists');
    expect(await kernelSnapshot([a.name, b.name])).toEqual(before);
  });

  it('names missing devices, existing links, unsupported kinds and missing namespaces with their own codes', async () => {
    const ns = await sandbox();
    await kernel.apply([{ ns, op: { op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'v1' } } }]);
    expect(await codeOf(kernel.apply([{ ns, op: { op: 'link.set', name: 'nosuch', up: true } }]))).toBe('SWY_ERR_LINK_NOT_FOUND');
    expect(await codeOf(kernel.apply([{ ns, op: { op: 'addr.add', dev: 'nosuch', cidr: '10.0.0.1/24' } }]))).toBe('SWY_ERR_LINK_NOT_FOUND');
    expect(await codeOf(kernel.apply([{ ns, op: { op: 'link.set', name: 'v0', master: 'nobridge' } }]))).toBe('SWY_ERR_LINK_NOT_FOUND');
    expect(await codeOf(kernel.apply([{ ns, op: { op: 'link.add', kind: 'bridge', name: 'v0' } }]))).toBe('SWY_ERR_LINK_EXISTS');
    // A kind this kernel may lack (ipvlan: missing here, present under user-mode Linux): both answers are asserted.
    const ipvlan = await kernel.apply([{ ns, op: { op: 'link.add', kind: 'ipvlan', name: 'ipv0', parent: 'v0', mode: 'l2', flag: 'bridge' } }]).then(
      () => 'created',
      (e: unknown) => (isSwitchyardError(e) ? e.code : String(e)),
    );
    expect(ipvlan).toBe((await kernel.probe('ipvlan')) ? 'created' : 'SWY_ERR_KERNEL_FEATURE_MISSING');
    if (ipvlan === 'created') await kernel.apply([{ ns, op: { op: 'link.del', name: 'ipv0' } }]);
    expect(await codeOf(kernel.apply([{ ns: { kind: 'named', name: 'no-such-ns' }, op: { op: 'link.set', name: 'lo', up: true } }]))).toBe('SWY_ERR_NETNS_NOT_FOUND');
    expect(await codeOf(kernel.listLinks({ kind: 'path', path: '/run/netns/no-such-ns' }))).toBe('SWY_ERR_NETNS_NOT_FOUND');
    expect((await kernel.listLinks(ns)).map((l) => l.name).sort()).toEqual(['lo', 'v0', 'v1']);
  });

  it('undoes the steps before a `master` naming a missing bridge, which ip reports without a line number', async () => {
    const ns = await sandbox();
    const before = await kernelSnapshot([ns.name]);
    const err = await kernel
      .apply([
        { ns, op: { op: 'link.add', kind: 'veth', name: 'm0', peer: { name: 'm1' } } },
        { ns, op: { op: 'link.set', name: 'm0', up: true } },
        { ns, op: { op: 'link.set', name: 'm1', master: 'nobr' } },
      ])
      .catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_LINK_NOT_FOUND')).toBe(true);
    expect(await kernelSnapshot([ns.name])).toEqual(before);
  });

  it('moves and renames a link into a namespace given by path, and revert brings it back', async () => {
    const ns = await sandbox();
    const dir = `/run/swy-itest-${process.pid}`;
    await mkdir(dir, { recursive: true });
    const path = `${dir}/ns`;
    await writeFile(path, '');
    await execIn(HOST_NS, ['mount', '--bind', `/run/netns/${ns.name}`, path]);
    try {
      const byPath: NetnsRef = { kind: 'path', path };
      const host = uniqueName('mv');
      await kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: host, peer: { name: `${host}p` } } }]);
      const plan = await kernel.apply([
        { ns: HOST_NS, op: { op: 'link.set', name: `${host}p`, netns: byPath, newName: 'eth3' } },
        { ns: byPath, op: { op: 'link.set', name: 'eth3', up: true } },
      ]);
      expect((await kernel.listLinks(ns)).find((l) => l.name === 'eth3')?.up).toBe(true);
      await kernel.revert(plan);
      expect((await kernel.listLinks(ns)).map((l) => l.name)).toEqual(['lo']);
      expect((await kernel.listLinks(HOST_NS)).map((l) => l.name)).toContain(`${host}p`);
      await kernel.apply([{ ns: HOST_NS, op: { op: 'link.del', name: host } }]);
    } finally {
      await execIn(HOST_NS, ['umount', path]);
      await rm(dir, { recursive: true });
    }
  });

  it('treats deleting a missing link with ifExists as done and runs the steps after it', async () => {
    const ns = await sandbox();
    const plan = await kernel.apply([
      { ns, op: { op: 'link.del', name: 'gone', ifExists: true } },
      { ns, op: { op: 'link.add', kind: 'bridge', name: 'after' } },
    ]);
    expect(plan.steps.length).toBe(2);
    expect((await kernel.listLinks(ns)).map((l) => l.name)).toContain('after');
  });

  it('sets a sysctl inside a namespace and revert restores the value it replaced', async () => {
    const ns = await sandbox();
    const read = async (): Promise<string> => (await execIn(ns, ['sysctl', '-n', 'net.ipv4.ip_forward'])).stdout.trim();
    const original = await read();
    const plan = await kernel.apply([{ ns, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: original === '1' ? '0' : '1' } }]);
    expect(await read()).not.toBe(original);
    await kernel.revert(plan);
    expect(await read()).toBe(original);
    expect(await codeOf(kernel.apply([{ ns, op: { op: 'sysctl.set', key: 'net.ipv4.no_such_key', value: '1' } }]))).toBe('SWY_ERR_KERNEL_OP_FAILED');
  });

  it('probes each link kind as the kernel answers a direct attempt, leaving no namespace behind', async () => {
    const fresh = new IproutesExecutor();
    const before = (await kernelSnapshot()).netns;
    const answers = Object.fromEntries(await Promise.all((['veth', 'bridge', 'macvlan', 'ipvlan', 'vlan', 'dummy', 'vxlan'] as const).map(async (f) => [f, await fresh.probe(f)])));
    // Ask the kernel directly, in a namespace of our own, rather than assume this build machine's kernel.
    const direct: Record<string, boolean> = {};
    const probeNs = uniqueName('probe');
    await execIn(HOST_NS, ['ip', 'netns', 'add', probeNs]);
    try {
      const ns = { kind: 'named' as const, name: probeNs };
      await execIn(ns, ['ip', 'link', 'add', 'pc0', 'type', 'veth', 'peer', 'name', 'pc1']);
      const attempts: Record<string, string[]> = {
        veth: ['ip', 'link', 'add', 'pv0', 'type', 'veth', 'peer', 'name', 'pv1'],
        bridge: ['ip', 'link', 'add', 'pb0', 'type', 'bridge'],
        macvlan: ['ip', 'link', 'add', 'pm0', 'link', 'pc0', 'type', 'macvlan'],
        ipvlan: ['ip', 'link', 'add', 'pi0', 'link', 'pc1', 'type', 'ipvlan'],
        vlan: ['ip', 'link', 'add', 'pl0', 'link', 'pc0', 'type', 'vlan', 'id', '7'],
        dummy: ['ip', 'link', 'add', 'pd0', 'type', 'dummy'],
        vxlan: ['ip', 'link', 'add', 'px0', 'type', 'vxlan', 'id', '42', 'dstport', '4789'],
      };
      for (const [kind, argv] of Object.entries(attempts)) direct[kind] = (await execIn(ns, argv, { allowFailure: true })).exitCode === 0;
    } finally {
      await execIn(HOST_NS, ['ip', 'netns', 'del', probeNs]);
    }
    expect(answers).toEqual(direct);
    expect([answers.veth, answers.bridge, answers.macvlan]).toEqual([true, true, true]);
    expect(typeof (await fresh.probe('nftables'))).toBe('boolean');
    expect((await kernelSnapshot()).netns).toEqual(before);
  });
});

describe('FakeKernel agrees with the real kernel', () => {
  type Listing = Record<string, unknown>;

  async function listingsOf(k: Kernel, spaces: NetnsRef[]): Promise<Listing> {
    const out: Listing = {};
    for (const ns of spaces) {
      const key = ns.kind === 'named' ? ns.name : 'host';
      const links = (await k.listLinks(ns)).map((l) => ({ name: l.name, kind: l.kind ?? null, mtu: l.mtu, up: l.up, master: l.master ?? null, group: l.group ?? 0 }));
      const addrs = (await k.listAddrs(ns)).map((a) => ({ dev: a.dev, cidr: a.cidr, family: a.family, scope: a.scope }));
      const routes = (await k.listRoutes(ns)).map((r) => ({ dst: r.dst, via: r.via ?? null, dev: r.dev ?? null, family: r.family, scope: r.scope ?? null, protocol: r.protocol ?? null }));
      const key2 = (o: object): string => JSON.stringify(o);
      out[key] = { links: links.sort((x, y) => x.name.localeCompare(y.name)), addrs: addrs.sort((x, y) => key2(x).localeCompare(key2(y))), routes: routes.sort((x, y) => key2(x).localeCompare(key2(y))) };
    }
    return out;
  }

  it('gives the same links, addresses and routes for the same plans, including one that fails and rolls back', async () => {
    const a = await sandbox('ora');
    const b = await sandbox('orb');
    const fake = new FakeKernel({ features: await probeFeatures(kernel) });
    await fake.createNetns(a.name);
    await fake.createNetns(b.name);
    const plans: KernelStep[][] = [
      [
        { ns: a, op: { op: 'link.add', kind: 'bridge', name: 'br0', group: 5 } },
        { ns: a, op: { op: 'link.add', kind: 'veth', name: 'a0', peer: { name: 'tmp0', netns: b }, mtu: 1450 } },
        { ns: a, op: { op: 'link.set', name: 'a0', master: 'br0', up: true } },
        { ns: a, op: { op: 'bridge.port', name: 'a0', hairpin: true } },
        { ns: a, op: { op: 'addr.add', dev: 'br0', cidr: '10.90.0.1/24' } },
        { ns: a, op: { op: 'addr.add', dev: 'br0', cidr: 'fd90::1/64', nodad: true } },
        { ns: a, op: { op: 'link.set', name: 'br0', up: true } },
        { ns: b, op: { op: 'link.set', name: 'tmp0', newName: 'eth0', mtu: 1400 } },
        { ns: b, op: { op: 'addr.add', dev: 'eth0', cidr: '10.90.0.2/24' } },
        { ns: b, op: { op: 'addr.add', dev: 'eth0', cidr: 'fd90::2/64', nodad: true } },
        { ns: b, op: { op: 'link.set', name: 'eth0', up: true } },
        { ns: b, op: { op: 'route.add', dst: 'default', via: '10.90.0.1' } },
        { ns: b, op: { op: 'route.add', dst: 'default', via: 'fd90::1' } },
        { ns: b, op: { op: 'route.add', dst: '10.91.0.0/16', via: '10.90.0.1', metric: 20 } },
        { ns: b, op: { op: 'route.add', dst: '10.92.0.0/16', dev: 'eth0' } },
        { ns: a, op: { op: 'link.add', kind: 'veth', name: 'low', peer: { name: 'lowp' } } },
        { ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'low', mode: 'bridge', netns: b } },
        { ns: a, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } },
      ],
      [
        { ns: b, op: { op: 'route.del', dst: '10.91.0.0/16' } },
        { ns: b, op: { op: 'addr.add', dev: 'mv0', cidr: '10.93.0.5/24' } },
        { ns: b, op: { op: 'link.set', name: 'mv0', up: true } },
        { ns: a, op: { op: 'link.add', kind: 'veth', name: 'a1', peer: { name: 'eth1', netns: b } } },
        { ns: b, op: { op: 'link.add', kind: 'bridge', name: 'eth1' } }, // fails: rolls back this plan
      ],
      [
        { ns: a, op: { op: 'link.set', name: 'a0', up: false } },
        { ns: b, op: { op: 'addr.del', dev: 'eth0', cidr: '10.90.0.2/24' } },
        { ns: a, op: { op: 'link.del', name: 'br0' } },
      ],
    ];
    await expectSameOutcomes(fake, [a, b], plans);
  });

  async function expectSameOutcomes(fake: FakeKernel, spaces: NetnsRef[], plans: KernelStep[][]): Promise<void> {
    for (const plan of plans) {
      const real = await kernel.apply(plan).then(
        () => 'ok',
        (e: unknown) => (isSwitchyardError(e) ? e.code : String(e)),
      );
      const faked = await fake.apply(plan).then(
        () => 'ok',
        (e: unknown) => (isSwitchyardError(e) ? e.code : String(e)),
      );
      expect({ plan, result: faked }).toEqual({ plan, result: real });
      expect(await listingsOf(fake, spaces)).toEqual(await listingsOf(kernel, spaces));
    }
  }

  it('fails the same way on the errors that matter, and is left in the same state', async () => {
    const a = await sandbox('ore');
    const b = await sandbox('orf');
    const fake = new FakeKernel({ features: await probeFeatures(kernel) });
    await fake.createNetns(a.name);
    await fake.createNetns(b.name);
    await expectSameOutcomes(
      fake,
      [a, b],
      [
        [
          { ns: a, op: { op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'v1', netns: b } } },
          { ns: a, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
          { ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.1/24' } },
          { ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.9/24' } },
        ],
        [{ ns: a, op: { op: 'route.add', dst: '10.96.0.0/16', dev: 'v0' } }], // device down
        [
          { ns: a, op: { op: 'link.set', name: 'v0', up: true } },
          { ns: a, op: { op: 'route.add', dst: 'default', via: '10.97.0.1' } },
        ], // unreachable gateway
        [{ ns: a, op: { op: 'route.add', dst: 'default', via: '10.97.0.1', dev: 'v0', onlink: true } }],
        [{ ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.1/24' } }], // duplicate address
        [{ ns: a, op: { op: 'addr.del', dev: 'v0', cidr: '10.95.0.7/24' } }], // address not there
        [{ ns: a, op: { op: 'route.del', dst: '10.98.0.0/16' } }], // route not there
        [{ ns: a, op: { op: 'link.set', name: 'br0', netns: b } }], // bridges cannot move
        [{ ns: b, op: { op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'v1', mode: 'bridge', mtu: 9000 } }], // above the parent's MTU
        [{ ns: a, op: { op: 'link.set', name: 'v0', newName: 'br0' } }], // rename onto an existing name
        [{ ns: a, op: { op: 'bridge.port', name: 'v0', hairpin: true } }], // not a bridge port
        [{ ns: a, op: { op: 'addr.del', dev: 'v0', cidr: '10.95.0.1/24' } }], // the primary takes its secondary and the routes along
        [{ ns: b, op: { op: 'link.add', kind: 'dummy', name: 'd0' } }],
        [{ ns: a, op: { op: 'link.del', name: 'v0' } }], // the peer in b goes too
      ],
    );
  });

  it('deletes a namespace together with the veth peers of its links, like the real kernel', async () => {
    const a = await sandbox('org');
    const b = await sandbox('orh');
    const fake = new FakeKernel({ features: await probeFeatures(kernel) });
    await fake.createNetns(a.name);
    await fake.createNetns(b.name);
    const plan: KernelStep[] = [{ ns: a, op: { op: 'link.add', kind: 'veth', name: 'x0', peer: { name: 'x1', netns: b } } }];
    await kernel.apply(plan);
    await fake.apply(plan);
    await kernel.deleteNetns(a.name);
    await fake.deleteNetns(a.name);
    // The kernel destroys the namespace asynchronously: wait until the peer is gone before comparing.
    await waitUntil(async () => !(await kernel.listLinks(b)).some((l) => l.name === 'x1'), 'the peer of a link in a deleted namespace to go');
    expect(await listingsOf(fake, [b])).toEqual(await listingsOf(kernel, [b]));
  });
});

describe('the lab after these tests', () => {
  it('has the same links, addresses and routes as before, once the namespaces are deleted', async () => {
    for (const name of created.splice(0)) await kernel.deleteNetns(name);
    expect(await kernelSnapshot()).toEqual(hostBefore);
  });
});
