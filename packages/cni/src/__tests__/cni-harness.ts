import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetnsRef } from '@switchyard/core';

/**
 * The runtime side of the kernel tests: the plugins as `switchyard cni install` puts them into a CNI
 * bin directory, exec'd with the environment and stdin a runtime sets (and nothing else: no PATH), and
 * the reference plugins from Debian's containernetworking-plugins exec'd the same way. Needs the build.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'bin', 'switchyard.js');

export interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  json: Record<string, unknown> | undefined;
  stdout: string;
  stderr: string;
}

export interface Attachment {
  id?: string;
  netns?: string;
  ifname?: string;
  args?: string;
}

function outcome(r: ReturnType<typeof spawnSync>): Outcome {
  const stdout = String(r.stdout);
  let json: Record<string, unknown> | undefined;
  try {
    json = stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>);
  } catch {
    json = undefined;
  }
  return { status: r.status, signal: r.signal, stdout, stderr: String(r.stderr), json };
}

/** A command that must succeed (ip, nft); its stdout. */
export function sh(file: string, ...args: string[]): string {
  const r = spawnSync(file, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A fresh named netns with lo up, as a runtime makes a container's. */
export function netns(name: string): { ref: NetnsRef; path: string } {
  sh('ip', 'netns', 'add', name);
  sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  return { ref: { kind: 'named', name }, path: `/run/netns/${name}` };
}

/** A reference plugin, exec'd as libcni does (it passes the runtime's PATH too: portmap runs iptables from it). */
export function reference(plugin: string, command: string, conf: object, attachment: Attachment, cniPath = '/usr/lib/cni'): Outcome {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: command, CNI_PATH: cniPath };
  if (attachment.id !== undefined) env.CNI_CONTAINERID = attachment.id;
  if (attachment.netns !== undefined) env.CNI_NETNS = attachment.netns;
  if (attachment.ifname !== undefined) env.CNI_IFNAME = attachment.ifname;
  return outcome(spawnSync(join('/usr/lib/cni', plugin), [], { env, input: JSON.stringify(conf), encoding: 'utf8' }));
}

/** A temporary CNI bin directory with our plugins installed, and the state dir they use. */
export class CniLab {
  readonly dir = mkdtempSync(join(tmpdir(), 'swy-cni-'));
  readonly stateDir = join(this.dir, 'state');
  readonly binDir = join(this.dir, 'bin');

  constructor() {
    if (!existsSync(join(ROOT, 'packages', 'cni', 'dist', 'executable.js'))) throw new Error('The CNI plugins are not built: run `npx tsc -b` before the kernel tests.');
    this.installed = this.switchyard('cni', 'install', '--dir', this.binDir);
  }

  /** What `switchyard cni install` said. */
  readonly installed: string;

  /** One of our plugins, exec'd as a runtime does; `extraEnv` adds to the runtime's variables (fault injection). */
  cni(plugin: string, command: string, conf: object, attachment: Attachment = {}, extraEnv: Record<string, string> = {}): Outcome {
    const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: this.binDir, SWITCHYARD_STATE_DIR: this.stateDir, ...extraEnv };
    if (attachment.id !== undefined) env.CNI_CONTAINERID = attachment.id;
    if (attachment.netns !== undefined) env.CNI_NETNS = attachment.netns;
    if (attachment.ifname !== undefined) env.CNI_IFNAME = attachment.ifname;
    if (attachment.args !== undefined) env.CNI_ARGS = attachment.args;
    return outcome(spawnSync(join(this.binDir, plugin), [], { env, input: JSON.stringify(conf), encoding: 'utf8' }));
  }

  /** The CLI on the plugins' state dir; its stdout, or it throws. */
  switchyard(...args: string[]): string {
    const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, SWITCHYARD_STATE_DIR: this.stateDir }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`switchyard ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  /** What attachments leave in Switchyard's store, host-local's data dir for `network`, and the nftables port maps. */
  leftovers(network: string): { sandboxes: string[]; addresses: string[]; portElements: number } {
    const sandboxes = (JSON.parse(this.switchyard('sandbox', 'ls', '--json')) as { sandboxes: Array<{ name: string }> }).sandboxes.map((s) => s.name);
    const ipamDir = join(this.stateDir, 'ipam', 'host-local', network);
    const addresses = existsSync(ipamDir) ? readdirSync(ipamDir).filter((f) => /^[0-9a-f.:]+$/.test(f) && f.includes('.')) : [];
    const maps = spawnSync('nft', ['-j', 'list', 'table', 'inet', 'switchyard'], { encoding: 'utf8' });
    const objects = maps.status === 0 ? (JSON.parse(maps.stdout) as { nftables: Array<{ map?: { name: string; elem?: unknown[] } }> }).nftables : [];
    const portElements = objects.filter((o) => o.map && /^(pub|pubaddr|ports)[46]$/.test(o.map.name)).reduce((n, o) => n + (o.map?.elem?.length ?? 0), 0);
    return { sandboxes, addresses, portElements };
  }

  /** Removes the networks (their bridges) and the directory. */
  dispose(networks: string[]): void {
    spawnSync(process.execPath, [CLI, 'network', 'rm', ...networks], { env: { ...process.env, SWITCHYARD_STATE_DIR: this.stateDir } });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
