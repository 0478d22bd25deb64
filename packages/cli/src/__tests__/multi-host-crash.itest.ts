import { spawnSync } from 'node:child_process';
import { faultPoints } from '@switchyard/core';
import { kernelSnapshot, settledSnapshot, waitUntil } from '@switchyard/core/testing';
import type { LabHost } from '@switchyard/agent';
import { firewallTable, stateFiles } from './crash-checks.js';
import { agentTables, startClusterLab, stopClusterLab, type ClusterLab } from './cluster-lab.js';

// The crash matrix on a multi-host network (issue 8's harness, issue 14's operations): two hosts with
// agents, etcd on the underlay, an overlay network on both with a bystander sandbox on each. On h1 a real
// `switchyard --etcd` process is SIGKILLed at every fault point of network create/delete, connect,
// disconnect and sandbox delete, then `switchyard gc` runs there. Nothing may be left: not in h1's kernel,
// state dir or firewall, not in etcd (endpoint documents, addresses, blocks, memberships, network
// documents), not in h2's forwarding and neighbour tables; and the bystanders still reach each other.
let c: ClusterLab;
let h1: LabHost, h2: LabHost;

interface Run {
  code: number;
  signal: string | undefined;
  out: string;
}

function sy(host: LabHost, args: readonly string[], env: Record<string, string> = {}): Run {
  const r = c.lab.switchyard(host, c.etcd.url, args, env);
  return { code: r.exitCode, signal: r.signal, out: r.stdout + r.stderr };
}
function ok(host: LabHost, ...args: string[]): string {
  const r = sy(host, args);
  if (r.code !== 0) throw new Error(`[${host.name}] switchyard ${args.join(' ')} exited ${r.code}:\n${r.out}`);
  return r.out;
}
function inNs(ns: string, file: string, args: string[]): { code: number | null; stdout: string } {
  const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, file, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status, stdout: r.stdout };
}
/** Every key and value Switchyard keeps in etcd, but the hosts' records (leases renew under them). */
async function etcdContents(): Promise<Record<string, string>> {
  const prefix = c.store.prefixOf('networks').replace(/networks\/$/, '');
  const hosts = c.store.prefixOf('hosts');
  const { kvs } = await c.store.readPrefix(prefix);
  return Object.fromEntries(kvs.map((kv) => [kv.key.toString(), kv.value.toString()] as const).filter(([k]) => !k.startsWith(hosts)));
}
function ipOf(host: LabHost, sandbox: string): { netns: string; ip: string } {
  const { sandbox: s } = JSON.parse(ok(host, '--json', 'sandbox', 'inspect', sandbox)) as { sandbox: { netns: { name: string }; endpoints: Array<{ networkName: string; ipv4: string }> } };
  return { netns: s.netns.name, ip: s.endpoints.find((e) => e.networkName === 'ov')!.ipv4.split('/')[0]! };
}
function exists(kind: 'network' | 'sandbox', name: string): boolean {
  return sy(h1, [kind, 'inspect', name]).code === 0;
}
function connected(sandbox: string): boolean {
  const r = sy(h1, ['--json', 'sandbox', 'inspect', sandbox]);
  return r.code === 0 && (JSON.parse(r.out) as { sandbox: { endpoints: Array<{ networkName: string }> } }).sandbox.endpoints.some((e) => e.networkName === 'ov');
}

interface Case {
  /** The operation's verb, which names its fault points. */
  op: string;
  /** Commands that set the stage on h1 (`%` is this case's sandbox name). */
  before: string[][];
  /** The command that gets killed. */
  run: string[];
  /** After gc: did the operation complete? */
  completed: (box: string) => boolean;
  /** Brings a completed (or set-up) state back to the baseline. */
  undo: (completed: boolean, box: string) => void;
  /** Deletes must finish once begun; creates may go either way. */
  mustComplete: boolean;
}

const CASES: Case[] = [
  {
    op: 'network.create',
    before: [],
    run: ['network', 'create', 'ovc', '--driver', 'overlay', '--subnet', '10.202.0.0/16'],
    completed: () => exists('network', 'ovc'),
    undo: (c) => void (c && ok(h1, 'network', 'rm', 'ovc')),
    mustComplete: false,
  },
  {
    op: 'network.delete',
    before: [['network', 'create', 'ovc', '--driver', 'overlay', '--subnet', '10.202.0.0/16']],
    run: ['network', 'rm', 'ovc'],
    completed: () => !exists('network', 'ovc'),
    undo: () => undefined,
    mustComplete: true,
  },
  {
    op: 'sandbox.delete',
    before: [
      ['sandbox', 'create', '%'],
      ['connect', 'ov', '%'],
    ],
    run: ['sandbox', 'rm', '%'],
    completed: (box) => !exists('sandbox', box),
    undo: () => undefined,
    mustComplete: true,
  },
  {
    op: 'connect',
    before: [['sandbox', 'create', '%']],
    // With a published port, so the firewall step of connect is in the matrix too.
    run: ['connect', 'ov', '%', '-p', '8080:80'],
    completed: (box) => connected(box),
    undo: (_c, box) => void ok(h1, 'sandbox', 'rm', box),
    mustComplete: false,
  },
  {
    op: 'disconnect',
    before: [
      ['sandbox', 'create', '%'],
      ['connect', 'ov', '%'],
    ],
    run: ['disconnect', 'ov', '%'],
    completed: (box) => !connected(box),
    undo: (_c, box) => void ok(h1, 'sandbox', 'rm', box),
    mustComplete: true,
  },
];

beforeAll(async () => {
  c = await startClusterLab({ prefix: 'swyk', hosts: 2, underlay: '10.98.0', sandboxes: /^mhk[a-z0-9]+$/ });
  [h1, h2] = c.hosts as [LabHost, LabHost];
  ok(h1, 'network', 'create', 'ov', '--driver', 'overlay', '--subnet', '10.201.0.0/16');
  ok(h2, 'network', 'create', 'ov', '--driver', 'overlay');
  for (const [h, box] of [
    [h1, 'mhkby1'],
    [h2, 'mhkby2'],
  ] as const) {
    ok(h, 'sandbox', 'create', box);
    ok(h, 'connect', 'ov', box);
  }
  const [by1, by2] = [ipOf(h1, 'mhkby1'), ipOf(h2, 'mhkby2')];
  await waitUntil(() => inNs(by1.netns, 'ping', ['-c', '1', '-W', '1', by2.ip]).code === 0, 'the bystanders reaching each other');
});

afterAll(() => stopClusterLab(c));

const matrix = faultPoints().flatMap((point) => {
  const c = CASES.find((k) => point.startsWith(`${k.op}:`));
  return c ? [[point, c] as const] : [];
});

test('the matrix covers every fault point of the operations a multi-host network takes part in', () => {
  const ops = new Set(CASES.map((c) => c.op));
  expect(faultPoints().filter((p) => ops.has(p.split(':')[0]!))).toEqual(matrix.map(([p]) => p));
  expect(matrix.length).toBeGreaterThanOrEqual(27);
});

describe.each(matrix.map(([point, c], i) => [point, c, `mhk${i}`] as const))('SIGKILL at %s on an overlay network', (point, c, box) => {
  test('gc on the host completes or rolls back the operation; nothing is left on the host, in etcd or on the other host', async () => {
    const baseKernel = await kernelSnapshot('all');
    const baseFiles = stateFiles(h1.stateDir, h1.stateDir);
    const baseFirewall = firewallTable(h1.name);
    const baseEtcd = await etcdContents();
    const basePeer = agentTables(h2);
    const sub = (args: string[]) => args.map((a) => (a === '%' ? box : a));
    for (const args of c.before) ok(h1, ...sub(args));

    const killed = sy(h1, sub(c.run), { SWITCHYARD_FAULT_POINT: point });
    // The point was reached and the process died there (not an ordinary failure).
    expect({ signal: killed.signal, out: killed.out }).toEqual({ signal: 'SIGKILL', out: expect.any(String) as string });

    const gc = sy(h1, ['gc']);
    expect({ code: gc.code, out: gc.out }).toEqual({ code: 0, out: expect.any(String) as string });
    expect(sy(h1, ['gc', '--dry-run']).out).toContain('Nothing to collect');
    const completed = c.completed(box);
    expect(completed || !c.mustComplete).toBe(true);
    c.undo(completed, box);

    expect(await settledSnapshot(baseKernel, 'all')).toEqual(baseKernel);
    expect(stateFiles(h1.stateDir, h1.stateDir)).toEqual(baseFiles);
    expect(firewallTable(h1.name)).toEqual(baseFirewall);
    expect(await etcdContents()).toEqual(baseEtcd);
    // h2's agent follows etcd: whatever h1 published for the killed operation leaves h2's tables.
    await waitUntil(() => JSON.stringify(agentTables(h2)) === JSON.stringify(basePeer), "h2's forwarding and neighbour tables back to the baseline", { maxMs: 10_000 }).catch(() => undefined);
    expect(agentTables(h2)).toEqual(basePeer);
    const [by1, by2] = [ipOf(h1, 'mhkby1'), ipOf(h2, 'mhkby2')];
    expect(inNs(by1.netns, 'ping', ['-c', '1', '-W', '2', by2.ip]).code).toBe(0);
  });
});

test('a killed connect whose rollback cannot reach etcd keeps its intent (gc fails, coded); with etcd back the next gc leaves nothing', async () => {
  const baseKernel = await kernelSnapshot('all');
  const baseFiles = stateFiles(h1.stateDir, h1.stateDir);
  const baseEtcd = await etcdContents();
  const basePeer = agentTables(h2);
  ok(h1, 'sandbox', 'create', 'mhkout');
  // Killed once its address is taken and its endpoint published in etcd.
  expect(sy(h1, ['connect', 'ov', 'mhkout'], { SWITCHYARD_FAULT_POINT: 'connect:endpoint-created' }).signal).toBe('SIGKILL');
  await c.killEtcd();
  try {
    const blind = sy(h1, ['gc']);
    expect(blind.code).not.toBe(0);
    expect(blind.out).toContain('could not finish or roll back');
    expect(blind.out).toContain('SWY_ERR_GLOBAL_STORE_UNAVAILABLE');
  } finally {
    await c.restartEtcd();
  }
  const gc = sy(h1, ['gc']);
  expect({ code: gc.code, out: gc.out }).toEqual({ code: 0, out: expect.stringContaining('finished or rolled back') as string });
  expect(connected('mhkout')).toBe(false);
  ok(h1, 'sandbox', 'rm', 'mhkout');
  expect(await settledSnapshot(baseKernel, 'all')).toEqual(baseKernel);
  expect(stateFiles(h1.stateDir, h1.stateDir)).toEqual(baseFiles);
  expect(await etcdContents()).toEqual(baseEtcd);
  await waitUntil(() => JSON.stringify(agentTables(h2)) === JSON.stringify(basePeer), "h2's tables back to the baseline", { maxMs: 10_000 }).catch(() => undefined);
  expect(agentTables(h2)).toEqual(basePeer);
});
