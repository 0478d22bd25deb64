import type { GlobalEndpoint, SandboxRecord } from '@switchyard/core';
import { waitUntil } from '@switchyard/core/testing';
import type { LabHost } from '@switchyard/agent';
import { remoteFdb, startClusterLab, stopClusterLab, type ClusterLab } from './cluster-lab.js';

// Issue 8's concurrency target on a multi-host network: 10 processes on each of two hosts connect and
// disconnect sandboxes on one overlay network at once, 3 rounds. Every command succeeds; addresses are
// unique across the hosts; after each round every host's store, etcd's endpoint documents and the other
// host's forwarding entries agree, and no intent is left.
const PER_HOST = 10;
const ROUNDS = 3;
let c: ClusterLab;
let hosts: readonly LabHost[];

const remoteMacs = (host: LabHost): string[] =>
  remoteFdb(host)
    .map((e) => e.split(' ')[0]!)
    .sort();
function sandboxesOf(host: LabHost): SandboxRecord[] {
  const r = c.lab.switchyard(host, c.etcd.url, ['--json', 'sandbox', 'ls']);
  return (JSON.parse(r.stdout) as { sandboxes: SandboxRecord[] }).sandboxes.filter((s) => s.name.startsWith('mhx'));
}

beforeAll(async () => {
  c = await startClusterLab({ prefix: 'swyx', hosts: 2, underlay: '10.95.0', sandboxes: /^mhx[0-9]+n[0-9]+$/ });
  hosts = c.hosts;
  // A /24 for 20 sandboxes: the hosts' /26 blocks must be shared out under contention too.
  for (const [i, h] of hosts.entries()) {
    const r = c.lab.switchyard(h, c.etcd.url, ['network', 'create', 'ov', '--driver', 'overlay', ...(i === 0 ? ['--subnet', '10.206.0.0/24'] : [])]);
    if (r.exitCode !== 0) throw new Error(r.stderr);
    for (let n = 0; n < PER_HOST; n++) {
      const s = c.lab.switchyard(h, c.etcd.url, ['sandbox', 'create', `mhx${i}n${n}`]);
      if (s.exitCode !== 0) throw new Error(s.stderr);
    }
  }
});

afterAll(() => stopClusterLab(c));

test(`${PER_HOST} processes on each of 2 hosts connecting and disconnecting at once, ${ROUNDS} rounds: every command succeeds, addresses unique, stores, etcd and forwarding agree`, async () => {
  const all = hosts.flatMap((h, i) => Array.from({ length: PER_HOST }, (_, n) => ({ h, name: `mhx${i}n${n}` })));
  for (let round = 1; round <= ROUNDS; round++) {
    const connects = await Promise.all(all.map(({ h, name }) => c.lab.switchyardAsync(h, c.etcd.url, ['connect', 'ov', name])));
    expect(connects.filter((r) => r.exitCode !== 0).map((r) => r.stderr)).toEqual([]);
    const endpoints = hosts.flatMap((h) => sandboxesOf(h).flatMap((s) => s.endpoints.map((e) => ({ host: h.name, id: e.id, ip: e.ipv4, mac: e.mac }))));
    expect(endpoints).toHaveLength(all.length);
    expect(new Set(endpoints.map((e) => e.ip)).size).toBe(all.length);
    // etcd's documents are exactly the hosts' endpoints, each under its own host.
    const docs = await c.store.list<GlobalEndpoint>('endpoints');
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
    const disconnects = await Promise.all(all.map(({ h, name }) => c.lab.switchyardAsync(h, c.etcd.url, ['disconnect', 'ov', name])));
    expect(disconnects.filter((r) => r.exitCode !== 0).map((r) => r.stderr)).toEqual([]);
    expect(await c.store.list('endpoints')).toEqual([]);
    for (const h of hosts) {
      await waitUntil(() => remoteMacs(h).length === 0, `${h.name}'s forwarding entries gone after round ${round}`, { maxMs: 15_000 }).catch(() => undefined);
      expect(remoteMacs(h)).toEqual([]);
      expect(sandboxesOf(h).flatMap((s) => s.endpoints)).toEqual([]);
      const gc = c.lab.switchyard(h, c.etcd.url, ['gc', '--dry-run']);
      expect(gc.stdout).toContain('Nothing to collect');
    }
  }
});
