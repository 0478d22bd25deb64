import { mkdir, rm, writeFile } from 'node:fs/promises';
import { IproutesExecutor } from '../iproute2-executor.js';
import { NetlinkExecutor } from '../netlink/netlink-executor.js';
import { execIn, probeFeatures, requireLab, uniqueName } from '../../testing/lab.js';
import { HOST_NS, type Kernel, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { isSwitchyardError } from '../../errors/switchyard-error.js';
import type { AppliedPlan } from '../../spi/kernel.js';

// Real-kernel tests: run via scripts/lab.sh. The iproute2 executor is the oracle: the same plans run
// through both executors, one after the other on fresh namespaces, must leave the same kernel state.

const netlink = new NetlinkExecutor();
const iproute2 = new IproutesExecutor();
const H = uniqueName('o'); // prefix of every link this file makes in the (shared) lab namespace
const MACS = ['02:00:00:00:00:a0', '02:00:00:00:00:a1', '02:00:00:00:00:a2', '02:00:00:00:00:a3', '02:00:00:00:00:a4'];
const pathDir = `/run/swy-nl-oracle-${process.pid}`;

interface Spaces {
  readonly a: NetnsRef;
  readonly b: NetnsRef;
  readonly c: NetnsRef; // a namespace given by path
}

beforeAll(() => requireLab());

afterAll(async () => {
  netlink.close();
  await execIn(HOST_NS, ['sh', '-c', `for f in ${pathDir}/*; do umount "$f" 2>/dev/null; done; true`]);
  await rm(pathDir, { recursive: true, force: true });
});

/** Links, addresses and routes of the namespaces, with what the kernel picks at random (MACs) blanked. */
async function listings(k: Kernel, spaces: Spaces): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, ns] of [
    ['host', HOST_NS],
    ['a', spaces.a],
    ['b', spaces.b],
    ['c', spaces.c],
  ] as const) {
    const mine = (dev: string | undefined): boolean => ns.kind !== 'host' || (dev ?? '').startsWith(H);
    const links = (await k.listLinks(ns))
      .filter((l) => mine(l.name))
      .map((l) => ({
        ...l,
        // ifindexes depend on what the lab namespace made before (moved links keep theirs); NO-CARRIER
        // follows the operstate, which the kernel updates asynchronously
        index: 0,
        mac: l.mac === undefined || MACS.includes(l.mac) || /^(00:)+00$/.test(l.mac) ? l.mac : 'random',
        flags: l.flags.filter((f) => f !== 'NO-CARRIER'),
      }));
    const addrs = (await k.listAddrs(ns)).filter((a) => mine(a.dev));
    const routes = (await k.listRoutes(ns)).filter((r) => mine(r.dev));
    out[key] = { links, addrs, routes, details: await details(ns, mine) };
  }
  return out;
}

const SYSCTLS = [`net/ipv4/conf/${H}br/forwarding`, 'net/ipv4/ip_forward', 'net/ipv6/conf/all/forwarding'];

/**
 * What the port's listing types leave out, read with the ip command whichever executor made it:
 * bridge-port flags, macvlan modes, promiscuity, address flags, route metrics/source/MTU/onlink, sysctls.
 */
async function details(ns: NetnsRef, mine: (dev: string | undefined) => boolean): Promise<unknown> {
  // One process per namespace: ip's three listings (one JSON line each), then the sysctls.
  const script = `ip -d -json link show; ip -json addr show; ip -json route show table all; for k in ${SYSCTLS.join(' ')}; do cat /proc/sys/$k 2>/dev/null || echo none; done`;
  const [linkJson, addrJson, routeJson, ...sysctls] = (await execIn(ns, ['sh', '-c', script])).stdout.trim().split('\n');
  const parse = (line: string | undefined): Array<Record<string, any>> => JSON.parse(line || '[]');
  const links = parse(linkJson)
    .filter((l) => mine(l.ifname))
    .map((l) => ({
      name: l.ifname,
      promiscuity: l.promiscuity,
      group: l.group,
      kind: l.linkinfo?.info_kind,
      mode: l.linkinfo?.info_data?.mode,
      port: l.linkinfo?.info_slave_kind === 'bridge' ? { hairpin: l.linkinfo.info_slave_data.hairpin, isolated: l.linkinfo.info_slave_data.isolated, learning: l.linkinfo.info_slave_data.learning } : undefined,
    }));
  const addrs = parse(addrJson)
    .filter((l) => mine(l.ifname))
    .flatMap((l) => (l.addr_info as Array<Record<string, unknown>>).filter((a) => a.scope !== 'link').map((a) => ({ dev: l.ifname, local: a.local, prefixlen: a.prefixlen, nodad: a.nodad, noprefixroute: a.noprefixroute })));
  const routes = parse(routeJson)
    .filter((r) => mine(r.dev) && r.table === undefined)
    .map((r) => ({
      dst: r.dst,
      gateway: r.gateway,
      dev: r.dev,
      scope: r.scope,
      protocol: r.protocol,
      metric: r.metric,
      prefsrc: r.prefsrc,
      metrics: r.metrics,
      flags: (r.flags as string[]).filter((f) => f !== 'linkdown'), // set when the kernel processes the carrier change, asynchronously
    }));
  return JSON.parse(JSON.stringify({ links, addrs, routes, sysctls }));
}

async function outcome(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'ok',
    (e: unknown) => (isSwitchyardError(e) ? e.code : `not a SwitchyardError: ${String(e)}`),
  );
}

/** Fresh namespaces a, b and c (c bound onto a file and used by path), the same names for every run. */
async function freshSpaces(k: Kernel, base: string): Promise<Spaces> {
  const a = await k.createNetns(`${base}a`);
  const b = await k.createNetns(`${base}b`);
  await k.createNetns(`${base}c`);
  await mkdir(pathDir, { recursive: true });
  const path = `${pathDir}/${base}c`;
  await writeFile(path, '');
  await execIn(HOST_NS, ['mount', '--bind', `/run/netns/${base}c`, path]);
  return { a, b, c: { kind: 'path', path } };
}

async function removeSpaces(k: Kernel, base: string, spaces: Spaces): Promise<void> {
  // Host links first, by name: a namespace's veth peers in the lab namespace would otherwise die asynchronously.
  for (const l of await iproute2.listLinks(HOST_NS)) if (l.name.startsWith(H)) await execIn(HOST_NS, ['ip', 'link', 'del', l.name], { allowFailure: true });
  if (spaces.c.kind === 'path') {
    await execIn(HOST_NS, ['umount', spaces.c.path]);
    await rm(spaces.c.path);
  }
  for (const s of ['a', 'b', 'c']) await k.deleteNetns(`${base}${s}`);
}

type PlanList = ReadonlyArray<{ label: string; steps: KernelStep[] }>;

/** Runs every plan, records its result and the listings after it, then reverts the successful plans, newest first. */
async function runAll(k: Kernel, base: string, plans: (s: Spaces) => PlanList): Promise<unknown[]> {
  const spaces = await freshSpaces(k, base);
  const record: unknown[] = [];
  const applied: AppliedPlan[] = [];
  try {
    for (const { label, steps } of plans(spaces)) {
      const result = await outcome(k.apply(steps).then((p) => applied.push(p)));
      record.push({ label, result, state: await listings(k, spaces) });
    }
    for (const p of applied.reverse()) {
      const result = await outcome(k.revert(p));
      record.push({ label: `revert of ${p.steps.length} steps`, result, state: await listings(k, spaces) });
    }
  } finally {
    await removeSpaces(k, base, spaces);
  }
  return record;
}

/** Runs the plans through both executors, expects the same record, and returns each plan's result. */
async function expectSameAsIproute2(plans: (s: Spaces) => PlanList): Promise<string[]> {
  const base = uniqueName('nlo');
  const viaNetlink = await runAll(netlink, base, plans);
  const viaIproute2 = await runAll(iproute2, base, plans);
  expect(viaNetlink).toEqual(viaIproute2);
  return viaNetlink.map((r) => `${(r as { label: string }).label}: ${(r as { result: string }).result}`);
}

const building = ({ a, b, c }: Spaces): KernelStep[] => [
  { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: `${H}br`, group: 7, mtu: 1450 } },
  { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: `${H}v0`, mac: MACS[0], mtu: 1400, peer: { name: 'tmp0', netns: a, mtu: 1400, mac: MACS[1] } } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}v0`, master: `${H}br`, up: true } },
  { ns: HOST_NS, op: { op: 'bridge.port', name: `${H}v0`, hairpin: true, isolated: true, learning: false } },
  { ns: HOST_NS, op: { op: 'addr.add', dev: `${H}br`, cidr: '10.90.0.1/24' } },
  { ns: HOST_NS, op: { op: 'addr.add', dev: `${H}br`, cidr: 'fd90::1/64', nodad: true } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}br`, up: true } },
  { ns: HOST_NS, op: { op: 'sysctl.set', key: `net.ipv4.conf.${H}br.forwarding`, value: '1' } },
  { ns: a, op: { op: 'link.set', name: 'tmp0', newName: 'eth0', mtu: 1380, promisc: true } },
  { ns: a, op: { op: 'addr.add', dev: 'eth0', cidr: '10.90.0.2/24' } },
  { ns: a, op: { op: 'addr.add', dev: 'eth0', cidr: 'fd90::2/64', nodad: true, noprefixroute: true } },
  { ns: a, op: { op: 'link.set', name: 'eth0', up: true } },
  { ns: a, op: { op: 'route.add', dst: 'default', via: '10.90.0.1' } },
  { ns: a, op: { op: 'route.add', dst: 'default', via: 'fd90::1', dev: 'eth0', onlink: true, family: 6 } },
  { ns: a, op: { op: 'route.add', dst: '10.91.0.0/16', via: '10.90.0.1', metric: 20, src: '10.90.0.2', mtu: 1300 } },
  { ns: a, op: { op: 'route.add', dst: '10.92.0.0/16', dev: 'eth0', scope: 'link' } },
  { ns: a, op: { op: 'route.add', dst: '192.168.5.5/32', dev: 'eth0' } },
  { ns: a, op: { op: 'link.add', kind: 'veth', name: 'low', peer: { name: 'lowp' } } },
  { ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'low', mode: 'private', netns: b } },
  { ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv1', parent: 'low', mode: 'vepa', mtu: 1300, mac: MACS[2], group: 3 } },
  { ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv2', parent: 'lowp', mode: 'passthru' } },
  { ns: a, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } },
  { ns: c, op: { op: 'link.add', kind: 'veth', name: 'c0', peer: { name: 'c1', netns: b } } },
  { ns: c, op: { op: 'link.add', kind: 'bridge', name: 'cbr' } },
  { ns: c, op: { op: 'link.set', name: 'c0', master: 'cbr', up: true } },
  { ns: c, op: { op: 'bridge.port', name: 'c0', learning: false } },
  { ns: c, op: { op: 'addr.add', dev: 'cbr', cidr: '172.16.9.1/24' } },
  { ns: c, op: { op: 'sysctl.set', key: 'net.ipv6.conf.all.forwarding', value: '1' } },
  { ns: b, op: { op: 'link.set', name: 'c1', netns: c, newName: 'cx' } },
  { ns: c, op: { op: 'link.set', name: 'cx', up: true } },
  { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: `${H}m0`, peer: { name: `${H}m1` } } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}m1`, netns: a, newName: 'eth1' } },
  { ns: a, op: { op: 'link.set', name: 'eth1', mac: MACS[3], up: true } },
  { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'nsv0', netns: b, peer: { name: `${H}n1` } } },
  { ns: b, op: { op: 'link.set', name: 'nsv0', up: true } },
];

const changing = ({ a, b, c }: Spaces): KernelStep[] => [
  { ns: a, op: { op: 'route.del', dst: '10.91.0.0/16' } },
  { ns: a, op: { op: 'route.del', dst: '192.168.5.5/32', dev: 'eth0' } },
  { ns: a, op: { op: 'addr.del', dev: 'eth0', cidr: 'fd90::2/64' } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}v0`, master: null } },
  { ns: b, op: { op: 'link.set', name: 'mv0', promisc: true, up: true } },
  { ns: c, op: { op: 'link.del', name: 'c0' } },
  { ns: a, op: { op: 'link.del', name: 'gone', ifExists: true } },
  { ns: a, op: { op: 'link.set', name: 'mv1', up: true } },
];

const failingLate = ({ a, b }: Spaces): KernelStep[] => [
  { ns: a, op: { op: 'link.set', name: 'eth0', up: false, mtu: 1300, mac: MACS[4] } },
  { ns: a, op: { op: 'addr.add', dev: 'eth0', cidr: '10.93.0.2/24' } },
  { ns: a, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '0' } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}v0`, master: `${H}br` } },
  { ns: HOST_NS, op: { op: 'bridge.port', name: `${H}v0`, hairpin: false } },
  { ns: b, op: { op: 'link.add', kind: 'bridge', name: 'mv0' } }, // exists: everything above is undone
];

describe('NetlinkExecutor against the iproute2 executor as oracle', () => {
  it('leaves the same links, addresses and routes in host, named and path namespaces for plans using every operation and option', async () => {
    const results = await expectSameAsIproute2((s) => [
      { label: 'build', steps: building(s) },
      { label: 'change', steps: changing(s) },
      { label: 'fail at the last step and roll back', steps: failingLate(s) },
    ]);
    expect(results).toEqual(['build: ok', 'change: ok', 'fail at the last step and roll back: SWY_ERR_LINK_EXISTS', 'revert of 8 steps: ok', 'revert of 35 steps: ok']);
  });

  const refusalSetup = ({ a, b, c }: Spaces): KernelStep[] => [
    { ns: a, op: { op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'v1', netns: b } } },
    { ns: a, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
    { ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.1/24' } },
    { ns: c, op: { op: 'link.add', kind: 'veth', name: 'p0', peer: { name: 'p1' } } },
    { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: `${H}x` } },
  ];

  it('fails with the same codes and leaves the same state when the kernel refuses a route or an address', async () => {
    const results = await expectSameAsIproute2((s) => {
      const { a } = s;
      return [
        { label: 'setup', steps: refusalSetup(s) },
        { label: 'device down', steps: [{ ns: a, op: { op: 'route.add', dst: '10.96.0.0/16', dev: 'v0' } }] },
        { label: 'bring v0 up', steps: [{ ns: a, op: { op: 'link.set', name: 'v0', up: true } }] },
        {
          label: 'unreachable gateway',
          steps: [
            { ns: a, op: { op: 'route.add', dst: '10.99.0.0/16', via: '10.95.0.1' } },
            { ns: a, op: { op: 'route.add', dst: 'default', via: '10.97.0.1' } },
          ],
        },
        { label: 'onlink gateway', steps: [{ ns: a, op: { op: 'route.add', dst: 'default', via: '10.97.0.1', dev: 'v0', onlink: true } }] },
        { label: 'duplicate address', steps: [{ ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.1/24' } }] },
        { label: 'address not there', steps: [{ ns: a, op: { op: 'addr.del', dev: 'v0', cidr: '10.95.0.7/24' } }] },
        { label: 'route not there', steps: [{ ns: a, op: { op: 'route.del', dst: '10.98.0.0/16' } }] },
        {
          label: 'the primary address takes its secondary along',
          steps: [
            { ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.9/24' } },
            { ns: a, op: { op: 'addr.del', dev: 'v0', cidr: '10.95.0.1/24' } },
          ],
        },
      ];
    });
    expect(results).toEqual([
      'setup: ok',
      'device down: SWY_ERR_KERNEL_OP_FAILED',
      'bring v0 up: ok',
      'unreachable gateway: SWY_ERR_KERNEL_OP_FAILED',
      'onlink gateway: ok',
      'duplicate address: SWY_ERR_KERNEL_OP_FAILED',
      'address not there: SWY_ERR_KERNEL_OP_FAILED',
      'route not there: SWY_ERR_KERNEL_OP_FAILED',
      'the primary address takes its secondary along: ok',
      'revert of 2 steps: ok',
      'revert of 1 steps: ok',
      'revert of 1 steps: ok',
      'revert of 5 steps: ok',
    ]);
  });

  it('fails with the same codes and leaves the same state when the kernel refuses a link change', async () => {
    const results = await expectSameAsIproute2((s) => {
      const { a, b } = s;
      return [
        { label: 'setup', steps: refusalSetup(s) },
        { label: 'bridges cannot move', steps: [{ ns: a, op: { op: 'link.set', name: 'br0', netns: b } }] },
        { label: 'macvlan above its parent MTU', steps: [{ ns: b, op: { op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'v1', mode: 'bridge', mtu: 9000 } }] },
        { label: 'rename onto an existing name', steps: [{ ns: a, op: { op: 'link.set', name: 'v0', newName: 'br0' } }] },
        { label: 'not a bridge port', steps: [{ ns: a, op: { op: 'bridge.port', name: 'v0', hairpin: true } }] },
        { label: 'existing link in the host namespace', steps: [{ ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: `${H}x`, peer: { name: `${H}y` } } }] },
        { label: 'deleting a veth end deletes the peer in the other namespace', steps: [{ ns: a, op: { op: 'link.del', name: 'v0' } }] },
      ];
    });
    expect(results).toEqual([
      'setup: ok',
      'bridges cannot move: SWY_ERR_KERNEL_OP_FAILED',
      'macvlan above its parent MTU: SWY_ERR_KERNEL_OP_FAILED',
      'rename onto an existing name: SWY_ERR_LINK_EXISTS',
      'not a bridge port: SWY_ERR_KERNEL_OP_FAILED',
      'existing link in the host namespace: SWY_ERR_LINK_EXISTS',
      'deleting a veth end deletes the peer in the other namespace: ok',
      'revert of 1 steps: ok',
      'revert of 5 steps: ok',
    ]);
  });

  it('fails with the same codes and leaves the same state for missing devices and namespaces, unsupported kinds and sysctls', async () => {
    const results = await expectSameAsIproute2((s) => {
      const { a, b, c } = s;
      return [
        { label: 'setup', steps: refusalSetup(s) },
        { label: 'missing device', steps: [{ ns: a, op: { op: 'link.set', name: 'nosuch', up: true } }] },
        { label: 'address on a missing device', steps: [{ ns: c, op: { op: 'addr.add', dev: 'nosuch', cidr: '10.0.0.1/24' } }] },
        {
          label: 'missing master',
          steps: [
            { ns: c, op: { op: 'link.set', name: 'p0', up: true } },
            { ns: c, op: { op: 'link.set', name: 'p1', master: 'nobr' } },
          ],
        },
        { label: 'missing parent', steps: [{ ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv9', parent: 'nosuch', mode: 'bridge' } }] },
        {
          label: 'missing namespace',
          steps: [
            { ns: a, op: { op: 'link.set', name: 'v0', up: false } },
            { ns: { kind: 'named', name: 'no-such-ns' }, op: { op: 'link.set', name: 'lo', up: true } },
          ],
        },
        { label: 'missing peer namespace', steps: [{ ns: a, op: { op: 'link.add', kind: 'veth', name: 'q0', peer: { name: 'q1', netns: { kind: 'path', path: '/run/netns/no-such-ns' } } } }] },
        { label: 'dummy', steps: [{ ns: b, op: { op: 'link.add', kind: 'dummy', name: 'd0' } }] },
        { label: 'ipvlan', steps: [{ ns: a, op: { op: 'link.add', kind: 'ipvlan', name: 'ipv0', parent: 'v0', mode: 'l2', flag: 'bridge' } }] },
        { label: 'vlan', steps: [{ ns: a, op: { op: 'link.add', kind: 'vlan', name: 'vl0', parent: 'v0', vlanId: 7 } }] },
        { label: 'no such sysctl', steps: [{ ns: c, op: { op: 'sysctl.set', key: 'net.ipv4.no_such_key', value: '1' } }] },
      ];
    });
    // dummy, ipvlan and 802.1Q are missing on this machine's kernel and present under user-mode Linux:
    // where the probe says a kind exists, both executors must create it (and revert it) alike.
    const features = await probeFeatures(netlink);
    const optional = (['dummy', 'ipvlan', 'vlan'] as const).map((kind) => ({ kind, present: features[kind] }));
    expect(results).toEqual([
      'setup: ok',
      'missing device: SWY_ERR_LINK_NOT_FOUND',
      'address on a missing device: SWY_ERR_LINK_NOT_FOUND',
      'missing master: SWY_ERR_LINK_NOT_FOUND',
      'missing parent: SWY_ERR_LINK_NOT_FOUND',
      'missing namespace: SWY_ERR_NETNS_NOT_FOUND',
      'missing peer namespace: SWY_ERR_NETNS_NOT_FOUND',
      ...optional.map(({ kind, present }) => `${kind}: ${present ? 'ok' : 'SWY_ERR_KERNEL_FEATURE_MISSING'}`),
      'no such sysctl: SWY_ERR_KERNEL_OP_FAILED',
      ...optional.filter((o) => o.present).map(() => 'revert of 1 steps: ok'),
      'revert of 5 steps: ok',
    ]);
  });
});
