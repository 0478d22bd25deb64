import { mkdir, rm, writeFile } from 'node:fs/promises';
import { IproutesExecutor } from '../iproute2-executor.js';
import { NetlinkExecutor } from '../netlink/netlink-executor.js';
import { execIn, uniqueName } from '../../testing/lab.js';
import { HOST_NS, type Kernel, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { isSwitchyardError } from '../../errors/switchyard-error.js';
import { vxlanData } from './vxlan-details.js';
import type { AppliedPlan } from '../../spi/kernel.js';

// The oracle harness for real-kernel tests of the netlink executor (run via scripts/lab.sh): the same plans
// run through the netlink and the iproute2 executors, one after the other on fresh namespaces, must
// leave the same kernel state. Used by netlink-oracle.itest.ts and netlink-oracle-kinds.itest.ts.

export const netlink = new NetlinkExecutor();
export const iproute2 = new IproutesExecutor();
export const H = uniqueName('o'); // prefix of every link this file makes in the (shared) lab namespace
export const MACS = ['02:00:00:00:00:a0', '02:00:00:00:00:a1', '02:00:00:00:00:a2', '02:00:00:00:00:a3', '02:00:00:00:00:a4'];
const pathDir = `/run/swy-nl-oracle-${process.pid}`;

export interface Spaces {
  readonly a: NetnsRef;
  readonly b: NetnsRef;
  readonly c: NetnsRef; // a namespace given by path
}

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
      vxlan: l.linkinfo?.info_kind === 'vxlan' ? vxlanData(l.linkinfo.info_data) : undefined,
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

export type PlanList = ReadonlyArray<{ label: string; steps: KernelStep[] }>;

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
export async function expectSameAsIproute2(plans: (s: Spaces) => PlanList): Promise<string[]> {
  const base = uniqueName('nlo');
  const viaNetlink = await runAll(netlink, base, plans);
  const viaIproute2 = await runAll(iproute2, base, plans);
  expect(viaNetlink).toEqual(viaIproute2);
  return viaNetlink.map((r) => `${(r as { label: string }).label}: ${(r as { result: string }).result}`);
}

/** Closes the netlink socket and removes the path-bound namespace files: call it in afterAll. */
export async function closeOracle(): Promise<void> {
  netlink.close();
  await execIn(HOST_NS, ['sh', '-c', `for f in ${pathDir}/*; do umount "$f" 2>/dev/null; done; true`]);
  await rm(pathDir, { recursive: true, force: true });
}

/** What the refusal tests start from: a veth across a and b, a bridge, an address, a veth in c, a host bridge. */
export const refusalSetup = ({ a, b, c }: Spaces): KernelStep[] => [
  { ns: a, op: { op: 'link.add', kind: 'veth', name: 'v0', peer: { name: 'v1', netns: b } } },
  { ns: a, op: { op: 'link.add', kind: 'bridge', name: 'br0' } },
  { ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.1/24' } },
  { ns: c, op: { op: 'link.add', kind: 'veth', name: 'p0', peer: { name: 'p1' } } },
  { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: `${H}x` } },
];
