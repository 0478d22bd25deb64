import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnRunner } from '@switchyard/core';

/** Kills a process (SIGKILL) and resolves once it has exited; at once when it already has. */
export function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Runs a setup command; throws with its stderr when it fails. */
async function run(file: string, args: readonly string[], input?: string): Promise<string> {
  const r = await spawnRunner(file, args, input);
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** What every command of a lab host runs with: its state dir (net.d files too), and no DNS responder. */
function hostEnv(host: LabHost): Record<string, string> {
  return { SWITCHYARD_STATE_DIR: host.stateDir, SWITCHYARD_NET_DIR: join(host.stateDir, 'net.d'), SWITCHYARD_DNS: 'none' };
}

/** One simulated host of a {@link MultiHostLab}: a network namespace on the underlay bridge. */
export interface LabHost {
  /** Its name (the namespace's, and its name in the cluster). */
  readonly name: string;
  /** Its underlay address. */
  readonly address: string;
  /** Its state directory. */
  readonly stateDir: string;
  /** The lab-side end of its underlay veth (a port of the underlay bridge): its counters are what the host received. */
  readonly port: string;
}

/** What a command run in a lab host printed, and its exit status. */
export interface LabCommandResult {
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
  /** Exit status (1 when a signal ended it). */
  exitCode: number;
  /** The signal that ended it, if one did. */
  signal?: NodeJS.Signals;
}

/** Options of {@link createMultiHostLab}. */
export interface MultiHostLabOptions {
  /** How many hosts; default 3. */
  hosts?: number;
  /** Prefix of namespace names; default `swyh`. */
  prefix?: string;
  /** The underlay /24's first three octets; default `10.99.0`: hosts get .1, .2 …, the bridge (etcd's address) .254. */
  underlay?: string;
  /** Root of the hosts' state directories. */
  stateRoot: string;
  /** The `switchyard` command (`packages/cli/bin/switchyard.js`) that hosts run. */
  cli: string;
}

/**
 * Hosts on a shared underlay bridge, built with `ip` in the caller's (lab) namespace. Commands run in a
 * host with `nsenter --net` (not `ip netns exec`, whose private mount namespace would take the bind
 * mounts of the sandboxes a host creates away with it).
 */
export interface MultiHostLab {
  /** The hosts. */
  readonly hosts: readonly LabHost[];
  /** The underlay bridge's address in the caller's namespace (where etcd listens). */
  readonly bridgeAddress: string;
  /**
   * Runs `switchyard --etcd ETCD --host-name HOST ARGS…` as an operator on that host would: in its
   * namespace, on its state dir, without a DNS responder (`SWITCHYARD_DNS=none`); `env` adds to that.
   */
  switchyard(host: LabHost, etcd: string, args: readonly string[], env?: Record<string, string>): LabCommandResult;
  /** As {@link MultiHostLab.switchyard}, without waiting: many commands at once, on one host or several. */
  switchyardAsync(host: LabHost, etcd: string, args: readonly string[], env?: Record<string, string>): Promise<LabCommandResult>;
  /** Starts `switchyard agent` on a host (its lease lives `ttl` seconds without renewal; default 10). */
  agent(host: LabHost, etcd: string, ttl?: number): ChildProcess;
  /** Deletes the hosts' namespaces, the bridge and the state directories. */
  destroy(): Promise<void>;
}

/**
 * Builds a lab of hosts: an underlay bridge in the current namespace (which must be a private lab
 * namespace: never the machine's own) and, per host, a namespace joined to it by a veth pair, with
 * `lo` up and IPv4 forwarding on. The hosts' sandboxes are namespaces of their own, as on real hosts.
 */
export async function createMultiHostLab(options: MultiHostLabOptions): Promise<MultiHostLab> {
  const count = options.hosts ?? 3;
  const prefix = options.prefix ?? 'swyh';
  const net = options.underlay ?? '10.99.0';
  const bridge = `${prefix}-ul`;
  const hosts: LabHost[] = Array.from({ length: count }, (_, i) => ({
    name: `${prefix}${i + 1}`,
    address: `${net}.${i + 1}`,
    stateDir: join(options.stateRoot, `${prefix}${i + 1}`),
    port: `${prefix}${i + 1}-p`,
  }));
  const cliArgv = (host: LabHost, etcd: string, args: readonly string[]) => [`--net=/run/netns/${host.name}`, process.execPath, options.cli, '--etcd', etcd, '--host-name', host.name, ...args];
  const lines = [`link add ${bridge} type bridge`, `addr add ${net}.254/24 dev ${bridge}`, `link set ${bridge} up`];
  for (const h of hosts) {
    lines.push(`netns add ${h.name}`, `link add ${h.port} type veth peer name ul0 netns ${h.name}`, `link set ${h.port} master ${bridge} up`);
  }
  await run('ip', ['-batch', '-'], lines.join('\n') + '\n');
  for (const h of hosts) {
    mkdirSync(h.stateDir, { recursive: true, mode: 0o700 });
    await run('ip', ['-n', h.name, '-batch', '-'], ['link set lo up', `addr add ${h.address}/24 dev ul0`, 'link set ul0 up'].join('\n') + '\n');
    await run('nsenter', [`--net=/run/netns/${h.name}`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  }
  return {
    hosts,
    bridgeAddress: `${net}.254`,
    switchyard(host, etcd, args, env = {}) {
      const r = spawnSync('nsenter', cliArgv(host, etcd, args), { env: { ...process.env, ...hostEnv(host), ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.status ?? 1, ...(r.signal ? { signal: r.signal } : {}) };
    },
    switchyardAsync(host, etcd, args, env = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn('nsenter', cliArgv(host, etcd, args), { env: { ...process.env, ...hostEnv(host), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code, signal) => resolve({ stdout, stderr, exitCode: code ?? 1, ...(signal ? { signal } : {}) }));
      });
    },
    agent(host, etcd, ttl = 10) {
      const argv = cliArgv(host, etcd, ['agent', '--address', host.address, '--ttl', String(ttl)]);
      // Its log goes nowhere: an unread pipe would stall it once full.
      return spawn('nsenter', argv, { env: { ...process.env, ...hostEnv(host) }, stdio: 'ignore' });
    },
    async destroy() {
      await spawnRunner('ip', ['-force', '-batch', '-'], [...hosts.map((h) => `netns del ${h.name}`), `link del ${bridge}`].join('\n') + '\n');
      for (const h of hosts) rmSync(h.stateDir, { recursive: true, force: true });
      // The kernel dismantles a deleted namespace (and with it each host's veth pair) once the last process
      // in it is gone, asynchronously: wait until the ports have left this namespace too (at most 10 s).
      const ports = new Set(hosts.map((h) => h.port));
      for (let i = 0; i < 200; i++) {
        const { stdout } = await spawnRunner('ip', ['-j', 'link', 'show']);
        const left = (JSON.parse(stdout || '[]') as Array<{ ifname: string }>).filter((l) => ports.has(l.ifname));
        if (left.length === 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
