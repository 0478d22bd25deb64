import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GlobalEndpoint, SandboxRecord } from '@switchyard/core';
import { requireLab, waitUntil } from '@switchyard/core/testing';
import { createMultiHostLab, killAndWait, type LabHost, type MultiHostLab } from '@switchyard/agent';
import { openEtcdStore, startEtcdServer, type EtcdServer, type EtcdStore } from '@switchyard/store-etcd';
import { BIN } from './cli-lab.js';

// Issue 8's concurrency target on a multi-host network: 10 processes on each of two hosts connect and
// disconnect sandboxes on one overlay network at once, 3 rounds. Every command succeeds; addresses are
// unique across the hosts; after each round every host's store, etcd's endpoint documents and the other
// host's forwarding entries agree, and no intent is left.
const PER_HOST = 10;
const ROUNDS = 3;
let lab: MultiHostLab;
let etcd: EtcdServer;
let root: string;
let store: EtcdStore;
const agents: ChildProcess[] = [];
let hosts: LabHost[];

function remoteMacs(host: LabHost): string[] {
  const r = spawnSync('nsenter', [`--net=/run/netns/${host.name}`, 'bridge', '-j', 'fdb', 'show'], { encoding: 'utf8' });
  return (JSON.parse(r.stdout || '[]') as Array<{ mac: string; dst?: string }>)
    .filter((e) => e.dst !== undefined)
    .map((e) => e.mac)
    .sort();
}
function sandboxesOf(host: LabHost): SandboxRecord[] {
  const r = lab.switchyard(host, etcd.url, ['--json', 'sandbox', 'ls']);
  return (JSON.parse(r.stdout) as { sandboxes: SandboxRecord[] }).sandboxes.filter((s) => s.name.startsWith('mhx'));
}

beforeAll(async () => {
  requireLab();
  root = mkdtempSync(join(tmpdir(), 'swy-mhx-'));
  lab = await createMultiHostLab({ stateRoot: root, prefix: 'swyx', hosts: 2, underlay: '10.95.0', cli: BIN });
  hosts = [...lab.hosts];
  etcd = await startEtcdServer({ address: lab.bridgeAddress, port: 2379, dataDir: `/dev/shm/swy-mhx-etcd-${process.pid}` });
  store = await openEtcdStore({ endpoints: etcd.url, hostName: 'observer' });
  for (const h of hosts) agents.push(lab.agent(h, etcd.url));
  for (const h of hosts) await waitUntil(async () => (await store.host(h.name)) !== undefined, `host ${h.name} registered`);
  // A /24 for 20 sandboxes: the hosts' /26 blocks must be shared out under contention too.
  for (const [i, h] of hosts.entries()) {
    const r = lab.switchyard(h, etcd.url, ['network', 'create', 'ov', '--driver', 'overlay', ...(i === 0 ? ['--subnet', '10.206.0.0/24'] : [])]);
    if (r.exitCode !== 0) throw new Error(r.stderr);
    for (let n = 0; n < PER_HOST; n++) {
      const s = lab.switchyard(h, etcd.url, ['sandbox', 'create', `mhx${i}n${n}`]);
      if (s.exitCode !== 0) throw new Error(s.stderr);
    }
  }
});

afterAll(async () => {
  await Promise.all(agents.map(killAndWait));
  await store?.close();
  await etcd?.stop({ wipe: true });
  for (const [i] of (hosts ?? []).entries()) for (let n = 0; n < PER_HOST; n++) spawnSync('ip', ['netns', 'del', `mhx${i}n${n}`]);
  await lab?.destroy();
  rmSync(root, { recursive: true, force: true });
});

test(`${PER_HOST} processes on each of 2 hosts connecting and disconnecting at once, ${ROUNDS} rounds: every command succeeds, addresses unique, stores, etcd and forwarding agree`, async () => {
  const all = hosts.flatMap((h, i) => Array.from({ length: PER_HOST }, (_, n) => ({ h, name: `mhx${i}n${n}` })));
  for (let round = 1; round <= ROUNDS; round++) {
    const connects = await Promise.all(all.map(({ h, name }) => lab.switchyardAsync(h, etcd.url, ['connect', 'ov', name])));
    expect(connects.filter((r) => r.exitCode !== 0).map((r) => r.stderr)).toEqual([]);
    const endpoints = hosts.flatMap((h) => sandboxesOf(h).flatMap((s) => s.endpoints.map((e) => ({ host: h.name, id: e.id, ip: e.ipv4, mac: e.mac }))));
    expect(endpoints).toHaveLength(all.length);
    expect(new Set(endpoints.map((e) => e.ip)).size).toBe(all.length);
    // etcd's documents are exactly the hosts' endpoints, each under its own host.
    const docs = await store.list<GlobalEndpoint>('endpoints');
    expect(docs.map((d) => `${d.host} ${d.id} ${d.ipv4} ${d.mac}`).sort()).toEqual(endpoints.map((e) => `${e.host} ${e.id} ${e.ip} ${e.mac}`).sort());
    // Each host forwards to exactly the other host's endpoints.
    for (const h of hosts) {
      const others = endpoints
        .filter((e) => e.host !== h.name)
        .map((e) => e.mac!.toLowerCase())
        .sort();
      await waitUntil(() => JSON.stringify(remoteMacs(h)) === JSON.stringify(others), `${h.name}'s forwarding entries for round ${round}`, { maxMs: 15_000 }).catch(() => undefined);
      expect(remoteMacs(h)).toEqual(others);
    }
    const disconnects = await Promise.all(all.map(({ h, name }) => lab.switchyardAsync(h, etcd.url, ['disconnect', 'ov', name])));
    expect(disconnects.filter((r) => r.exitCode !== 0).map((r) => r.stderr)).toEqual([]);
    expect(await store.list('endpoints')).toEqual([]);
    for (const h of hosts) {
      await waitUntil(() => remoteMacs(h).length === 0, `${h.name}'s forwarding entries gone after round ${round}`, { maxMs: 15_000 }).catch(() => undefined);
      expect(remoteMacs(h)).toEqual([]);
      expect(sandboxesOf(h).flatMap((s) => s.endpoints)).toEqual([]);
      const gc = lab.switchyard(h, etcd.url, ['gc', '--dry-run']);
      expect(gc.stdout).toContain('Nothing to collect');
    }
  }
});
