import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { askEcho, startEchoServer } from '@switchyard/core';
import { formatRows, formatTable } from '../output/table.js';
import type { DemoCheck } from './scenario.js';

const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));
const mark = (ok: boolean) => (ok ? '✓' : '✗');

/** What the multi-host act needs from the demo. */
export interface MultiHostActEnv {
  /** Human output. */
  print: (text: string) => void;
  /** Milliseconds, for timings. */
  now: () => number;
  /** Whether a program is on PATH. */
  which: (tool: string) => boolean;
}

/** The act's checks and its connect timings. */
export interface MultiHostActOutcome {
  /** One per expected outcome; empty when the act could not run (no etcd), with `skipped` saying why. */
  checks: DemoCheck[];
  /** Wall time of each cross-host connect through the CLI, ms. */
  connectMs: number[];
  /** Why the act did not run. */
  skipped?: string;
}

/**
 * The demo's second act, inside its lab: three "hosts" (network namespaces on an underlay bridge), etcd
 * on the underlay, `switchyard agent` on each host, an overlay network and a routed network across them,
 * and traffic between sandboxes on different hosts with the real source address. Everything runs through
 * the `switchyard` command, as an operator would on three machines.
 */
export async function runMultiHostAct(env: MultiHostActEnv): Promise<MultiHostActOutcome> {
  const { print } = env;
  if (!env.which('etcd')) {
    const why = 'etcd is not installed (apt-get install etcd-server; scripts/setup.sh does it)';
    print(`\nAct 2: across hosts — skipped: ${why}\n`);
    return { checks: [], connectMs: [], skipped: why };
  }
  const [{ createMultiHostLab, killAndWait }, { startEtcdServer, openEtcdStore }] = await Promise.all([import('@switchyard/agent'), import('@switchyard/store-etcd')]);
  const checks: DemoCheck[] = [];
  const connectMs: number[] = [];
  const section = 'across hosts';
  const record = (what: string, ok: boolean, detail: string) => checks.push({ section, what, ok, detail });
  const root = await mkdtemp(join(tmpdir(), 'switchyard-demo-hosts-'));
  const lab = await createMultiHostLab({ stateRoot: root, prefix: 'demoh', underlay: '10.90.0', cli: BIN });
  const [h1, h2, h3] = lab.hosts as [(typeof lab.hosts)[0], (typeof lab.hosts)[0], (typeof lab.hosts)[0]];
  const etcd = await startEtcdServer({ address: lab.bridgeAddress, port: 2379, dataDir: join('/dev/shm', `switchyard-demo-etcd-${process.pid}`) });
  const agents: ChildProcess[] = [];
  const sandboxes: string[] = [];
  type Host = typeof h1;
  const sy = (host: Host, ...args: string[]) => {
    const r = lab.switchyard(host, etcd.url, args);
    if (r.exitCode !== 0) throw new Error(`[${host.name}] switchyard ${args.join(' ')}: ${r.stderr.trim()}`);
    return r.stdout;
  };
  const address = (host: Host, sandbox: string, network: string) => {
    const s = JSON.parse(sy(host, '--json', 'sandbox', 'inspect', sandbox)) as { sandbox: { endpoints: Array<{ networkName: string; ipv4: string }> } };
    return s.sandbox.endpoints.find((e) => e.networkName === network)?.ipv4.split('/')[0] ?? '';
  };
  const ping = (ns: string, ip: string) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, 'ping', '-c', '1', '-W', '1', ip], { encoding: 'utf8' });
      const rtt = /time=([\d.]+) ms/.exec(r.stdout)?.[1];
      if (r.status === 0) return `reply in ${rtt ?? '?'} ms`;
    }
    return undefined;
  };
  let observer: Awaited<ReturnType<typeof openEtcdStore>> | undefined;
  try {
    print('\nAct 2: three hosts, one flat network (etcd, switchyard agent, overlay and routed networks)\n');
    print(`  Three "hosts" are network namespaces on an underlay bridge (${lab.hosts.map((h) => `${h.name} ${h.address}`).join(', ')});`);
    print(`  etcd runs on the underlay at ${etcd.url}. Each host runs \`switchyard --etcd ${etcd.url} agent --address <its address>\`.`);
    for (const h of lab.hosts) {
      agents.push(lab.agent(h, etcd.url, 5));
    }
    const store = (observer = await openEtcdStore({ endpoints: etcd.url, hostName: 'demo' }));
    const t0 = env.now();
    while (env.now() - t0 < 20_000 && (await Promise.all(lab.hosts.map((h) => store.host(h.name)))).some((r) => r === undefined)) await new Promise((r) => setTimeout(r, 50));
    const joined = (await Promise.all(lab.hosts.map((h) => store.host(h.name)))).filter(Boolean).length;
    record('agents', joined === 3, `${joined} of 3 hosts hold a lease in etcd`);

    // The overlay network: created on every host, one VNI; sandboxes on each host.
    sy(h1, 'network', 'create', 'mesh', '--driver', 'overlay', '--subnet', '10.201.0.0/16');
    sy(h2, 'network', 'create', 'mesh', '--driver', 'overlay');
    sy(h3, 'network', 'create', 'mesh', '--driver', 'overlay');
    const seen = lab.hosts.map((h) => (JSON.parse(sy(h, '--json', 'network', 'inspect', 'mesh')) as { network: { ipv4?: { subnet: string }; driverState: { vni: number } } }).network);
    const vnis = new Set(seen.map((n) => n.driverState.vni));
    const subnets = new Set(seen.map((n) => n.ipv4?.subnet));
    record(
      'overlay "mesh"',
      vnis.size === 1 && subnets.size === 1 && subnets.has('10.201.0.0/16'),
      vnis.size === 1 && subnets.size === 1
        ? `VXLAN VNI ${[...vnis][0]} on all three hosts, subnet 10.201.0.0/16 from the first, adopted by the others`
        : `hosts disagree: VNIs ${[...vnis].join(', ')}, subnets ${[...subnets].join(', ')}`,
    );
    const placement = [
      [h1, 'alpha'],
      [h2, 'beta'],
      [h3, 'gamma'],
    ] as const;
    for (const [h, name] of placement) {
      sy(h, 'sandbox', 'create', name);
      sandboxes.push(name);
      const t = env.now();
      sy(h, 'connect', 'mesh', name);
      connectMs.push(env.now() - t);
    }
    const ips = placement.map(([h, name]) => address(h, name, 'mesh'));
    print(
      formatTable(
        ['HOST', 'SANDBOX', 'ADDRESS (mesh)'],
        placement.map(([h, name], i) => [h.name, name, ips[i] ?? '-']),
        '  ',
      ),
    );
    for (const [from, to] of [
      [0, 1],
      [1, 2],
      [2, 0],
    ] as const) {
      const got = ping(placement[from][1], ips[to]!);
      record(`${placement[from][1]}@${placement[from][0].name} → ${placement[to][1]}@${placement[to][0].name}`, got !== undefined, got ?? 'no reply');
    }
    const server = await startEchoServer({ kind: 'named', name: 'beta' }, 8080);
    try {
      const seen = await askEcho({ kind: 'named', name: 'alpha' }, ips[1]!, 8080);
      record('TCP alpha → beta', seen === `from ${ips[0]}`, seen.startsWith('from') ? `beta saw the connection come from ${seen.slice(5)}: alpha's own address, no NAT` : `no answer: ${seen}`);
    } finally {
      await server.stop();
    }

    // The routed network (host-gw): a subnet per host, routes between hosts, no encapsulation.
    sy(h1, 'network', 'create', 'pods', '--driver', 'routed', '--subnet', '10.211.0.0/16');
    sy(h2, 'network', 'create', 'pods', '--driver', 'routed');
    for (const [h, name] of [
      [h1, 'pod1'],
      [h2, 'pod2'],
    ] as const) {
      sy(h, 'sandbox', 'create', name);
      sandboxes.push(name);
      sy(h, 'connect', 'pods', name);
    }
    const [p1, p2] = [address(h1, 'pod1', 'pods'), address(h2, 'pod2', 'pods')];
    record('routed "pods"', p1.split('.')[2] !== p2.split('.')[2], `host subnets: ${h1.name} has ${p1}'s /24, ${h2.name} has ${p2}'s /24; routes via the underlay`);
    const g1 = ping('pod1', p2);
    record(`pod1@${h1.name} → pod2@${h2.name}`, g1 !== undefined, g1 ?? 'no reply');
    const g2 = ping(h3.name, p1);
    record(`host ${h3.name} → pod1@${h1.name}`, g2 !== undefined, g2 ? `${g2} (a host without the network reaches a pod on another host)` : 'no reply');
  } catch (e) {
    record('unexpected failure', false, e instanceof Error ? e.message : String(e));
  } finally {
    await observer?.close();
    await Promise.all(agents.map(killAndWait));
    await etcd.stop({ wipe: true });
    for (const s of sandboxes) spawnSync('ip', ['netns', 'del', s]);
    await lab.destroy();
    await rm(root, { recursive: true, force: true });
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    const ours = [...sandboxes, ...lab.hosts.map((h) => h.name)].filter((n) => new RegExp(`^${n}( |$)`, 'm').test(left));
    record('cleaned up', ours.length === 0, ours.length === 0 ? 'hosts, sandboxes, agents and etcd gone' : `left: ${ours.join(', ')}`);
  }
  print(
    formatRows(
      checks.map((c) => [mark(c.ok), c.what, c.detail]),
      '  ',
    ),
  );
  return { checks, connectMs };
}
