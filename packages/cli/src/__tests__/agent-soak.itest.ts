import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { waitUntil } from '@switchyard/core/testing';
import type { LabHost } from '@switchyard/agent';
import { openEtcdStore, type EtcdStore } from '@switchyard/store-etcd';
import { agentTables, startClusterLab, stopClusterLab, type ClusterLab } from './cluster-lab.js';

// Soak of the multi-host agent, a long-running process: endpoints of another host appear in etcd and go
// again, cycle after cycle, and the agent on h1 programs and removes their forwarding and neighbour entries.
// It must end with h1's tables exactly as they began, no descriptor more, and its resident memory flat:
// RSS after the last cycle within 10% of RSS after cycle 200. CI runs it shortened (SWY_SOAK_CYCLES,
// default 400); `pnpm soak` runs 2000 cycles. One cycle: ENDPOINTS documents of host h9 written in one
// transaction, the agent programs them, the documents deleted, the agent removes them.
const CYCLES = Number(process.env.SWY_SOAK_CYCLES ?? '') || 400;
/** The baseline is taken once this many cycles have warmed the agent up (half-way in a run shorter than 400, so there is always a second half to compare). */
const BASELINE_CYCLE = Math.max(1, Math.min(200, Math.floor(CYCLES / 2)));
const MAX_RSS_GROWTH = 1.1;
const ENDPOINTS = 5;
let c: ClusterLab;
let writer: EtcdStore;
let agent: ChildProcess;
let h1: LabHost;

const tables = (): string[] => agentTables(h1);
function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}
const hex = (n: number) => n.toString(16).padStart(2, '0');

beforeAll(async () => {
  c = await startClusterLab({ prefix: 'swyq', hosts: 1, underlay: '10.96.0', sandboxes: /^$/ });
  [h1] = c.hosts as [LabHost];
  agent = c.agents.get(h1.name)!;
  writer = await openEtcdStore({ endpoints: c.etcd.url, hostName: 'h9' });
  const r = c.lab.switchyard(h1, c.etcd.url, ['network', 'create', 'ov', '--driver', 'overlay', '--subnet', '10.205.0.0/16']);
  if (r.exitCode !== 0) throw new Error(r.stderr);
});

afterAll(async () => {
  await writer?.close();
  await stopClusterLab(c);
});

test(`${CYCLES} cycles of another host's endpoints coming and going leave h1's tables as they began, and the agent's memory flat`, async () => {
  const pid = agent.pid!;
  const before = tables();
  // Descriptors of the agent at rest, the fewest seen over a second: a pass in flight holds its children's
  // pipes for a moment, and the etcd client's connections come and go on their own.
  const fds = async () => {
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      seen.push(readdirSync(`/proc/${pid}/fd`).length);
      await new Promise((r) => setTimeout(r, 50));
    }
    return Math.min(...seen);
  };
  const rss: Array<[number, number]> = [];
  let baselineFds = 0;
  const started = performance.now();
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const ids = Array.from({ length: ENDPOINTS }, (_, i) => `${hex(cycle >> 8)}${hex(cycle & 255)}${hex(i)}`.padStart(64, 'f'));
    await writer.transaction(async (tx) => {
      for (const [i, id] of ids.entries()) {
        await tx.put('endpoints', id, { id, network: 'ov', driver: 'overlay', host: 'h9', hostAddress: '10.96.0.9', mac: `02:aa:${hex(cycle >> 8)}:${hex(cycle & 255)}:00:${hex(i)}`, ipv4: `10.205.${200 + i}.${cycle % 250}/16` });
      }
    });
    await waitUntil(() => tables().length === before.length + 2 * ENDPOINTS, `cycle ${cycle}: the agent programming ${ENDPOINTS} endpoints`, { everyMs: 5 });
    await writer.transaction(async (tx) => {
      for (const id of ids) await tx.delete('endpoints', id);
    });
    await waitUntil(() => tables().length === before.length, `cycle ${cycle}: the agent removing them`, { everyMs: 5 });
    if (cycle === BASELINE_CYCLE) baselineFds = await fds();
    if (cycle % 200 === 0 || cycle === CYCLES || cycle === BASELINE_CYCLE) rss.push([cycle, rssKiB(pid)]);
  }
  const ms = (performance.now() - started) / CYCLES;
  expect(tables()).toEqual(before);
  const endFds = await fds();
  const base = rss.find(([c]) => c === BASELINE_CYCLE)![1];
  const end = rss[rss.length - 1]![1];
  process.stderr.write(
    `agent soak: ${CYCLES} cycles x ${ENDPOINTS} endpoints, ${ms.toFixed(1)} ms/cycle; agent RSS ${rss.map(([c, k]) => `${c}: ${(k / 1024).toFixed(1)} MiB`).join(', ')}; ratio ${(end / base).toFixed(3)}; fds ${baselineFds} -> ${endFds}\n`,
  );
  // A leak grows with the cycles (a pipe or a socket per pass would be hundreds); the client's own
  // connection churn is a couple of descriptors either way.
  expect(endFds).toBeLessThanOrEqual(baselineFds + 2);
  expect(end / base).toBeLessThanOrEqual(MAX_RSS_GROWTH);
});
