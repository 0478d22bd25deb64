import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLab, waitUntil } from '@switchyard/core/testing';
import { createMultiHostLab, killAndWait, type LabHost, type MultiHostLab } from '@switchyard/agent';
import { openEtcdStore, startEtcdServer, type EtcdServer, type EtcdStore } from '@switchyard/store-etcd';
import { BIN } from './cli-lab.js';

// What the multi-host kernel tests share: hosts on an underlay (MultiHostLab), etcd on the underlay with
// its data on a tmpfs, an observer's store, `switchyard agent` on each host; and taking it all down again.

/** A cluster of lab hosts with etcd and agents. */
export interface ClusterLab {
  readonly lab: MultiHostLab;
  readonly hosts: readonly LabHost[];
  /** The running etcd (replaced by {@link ClusterLab.restartEtcd}). */
  etcd: EtcdServer;
  /** A store of host `observer`, for reading the cluster's documents. */
  readonly store: EtcdStore;
  /** The agent running on each host, by host name. */
  readonly agents: Map<string, ChildProcess>;
  /** Starts (or starts again) a host's agent, with a lease of `ttl` seconds (default: the cluster's `ttl` for the host, else 10). */
  startAgent(host: LabHost, ttl?: number): ChildProcess;
  /** Kills etcd at once (SIGKILL): "etcd went away". */
  killEtcd(): Promise<void>;
  /** Starts etcd again on the same data and address. */
  restartEtcd(): Promise<void>;
}

const state = new WeakMap<ClusterLab, { root: string; sandboxes: RegExp; dataDir: string }>();

/**
 * Builds the cluster (inside the lab namespace): `hosts` hosts named `<prefix>1…` on `<underlay>.0/24`,
 * etcd on the underlay bridge, an agent on each host (its lease `ttl(host)` seconds, default 10), every host registered. `sandboxes` matches the
 * namespace names of the sandboxes the test creates, which {@link stopClusterLab} removes.
 */
export async function startClusterLab(o: { prefix: string; hosts: number; underlay: string; sandboxes: RegExp; ttl?: (host: LabHost) => number }): Promise<ClusterLab> {
  requireLab();
  const root = mkdtempSync(join(tmpdir(), `swy-${o.prefix}-`));
  const lab = await createMultiHostLab({ stateRoot: root, prefix: o.prefix, hosts: o.hosts, underlay: o.underlay, cli: BIN });
  const dataDir = `/dev/shm/swy-${o.prefix}-etcd-${process.pid}`;
  const etcd = await startEtcdServer({ address: lab.bridgeAddress, port: 2379, dataDir });
  const store = await openEtcdStore({ endpoints: etcd.url, hostName: 'observer' });
  const c: ClusterLab = {
    lab,
    hosts: lab.hosts,
    etcd,
    store,
    agents: new Map(),
    startAgent(host, ttl = o.ttl?.(host)) {
      const child = lab.agent(host, c.etcd.url, ttl);
      c.agents.set(host.name, child);
      return child;
    },
    killEtcd: () => c.etcd.stop({ hard: true }),
    async restartEtcd() {
      c.etcd = await startEtcdServer({ address: lab.bridgeAddress, port: 2379, dataDir, keepData: true });
    },
  };
  state.set(c, { root, sandboxes: o.sandboxes, dataDir });
  for (const h of lab.hosts) c.startAgent(h);
  for (const h of lab.hosts) await waitUntil(async () => (await store.host(h.name)) !== undefined, `host ${h.name} registered`);
  return c;
}

/**
 * Takes a cluster down: agents first (so nothing keeps a host's namespace and its veth alive), the
 * observer's store, etcd and its data, the test's sandbox namespaces, the hosts, the state directories.
 */
export async function stopClusterLab(c: ClusterLab | undefined): Promise<void> {
  if (!c) return;
  const { root, sandboxes } = state.get(c)!;
  await Promise.all([...c.agents.values()].map(killAndWait));
  await c.store.close();
  await c.etcd.stop({ wipe: true });
  const names = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => sandboxes.test(n));
  for (const n of names) spawnSync('ip', ['netns', 'del', n]);
  await c.lab.destroy();
  rmSync(root, { recursive: true, force: true });
}

function jsonIn<T>(host: LabHost, file: string, args: string[]): T[] {
  const r = spawnSync('nsenter', [`--net=/run/netns/${host.name}`, file, '-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} -j ${args.join(' ')} in ${host.name}: ${r.stderr}`);
  return JSON.parse(r.stdout || '[]') as T[];
}

/** A host's forwarding entries with a remote destination (what the agent programs on VXLAN devices), as `mac dst`, sorted. */
export function remoteFdb(host: LabHost): string[] {
  return jsonIn<{ mac: string; dst?: string }>(host, 'bridge', ['fdb', 'show'])
    .filter((e) => e.dst !== undefined)
    .map((e) => `${e.mac} ${e.dst}`)
    .sort();
}

/** Everything the agent programs on a host: its remote forwarding entries and the permanent neighbours on its VXLAN devices, a line each, sorted. */
export function agentTables(host: LabHost): string[] {
  const neigh = jsonIn<{ dst: string; dev: string; lladdr?: string }>(host, 'ip', ['neigh', 'show', 'nud', 'permanent']).filter((n) => n.dev.startsWith('vx-'));
  return [...remoteFdb(host).map((e) => `fdb ${e}`), ...neigh.map((n) => `neigh ${n.dst} ${n.lladdr ?? ''} ${n.dev}`)].sort();
}
