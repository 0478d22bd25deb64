import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HOST_NS, type NetnsRef } from '@switchyard/core';
import { askEcho, ping, requireLab, startEchoServer } from '@switchyard/core/testing';
import { resultProblems } from '../protocol/result.js';
import { SUPPORTED_VERSIONS, type CniVersion } from '../protocol/versions.js';

/**
 * A runtime-side harness: the plugins as `switchyard cni install` put them into a CNI bin directory,
 * exec'd with the environment and stdin a runtime sets (and nothing else: no PATH), on the real kernel
 * in the lab namespace. Needs the build (`npx tsc -b`).
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CLI = join(ROOT, 'packages', 'cli', 'bin', 'switchyard.js');

let dir: string;
let stateDir: string;
let binDir: string;

interface Outcome {
  status: number | null;
  json: Record<string, unknown> | undefined;
  stdout: string;
  stderr: string;
}

function cni(plugin: string, command: string, conf: object, attachment: { id?: string; netns?: string; ifname?: string; args?: string } = {}): Outcome {
  const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: binDir, SWITCHYARD_STATE_DIR: stateDir };
  if (attachment.id !== undefined) env.CNI_CONTAINERID = attachment.id;
  if (attachment.netns !== undefined) env.CNI_NETNS = attachment.netns;
  if (attachment.ifname !== undefined) env.CNI_IFNAME = attachment.ifname;
  if (attachment.args !== undefined) env.CNI_ARGS = attachment.args;
  const r = spawnSync(join(binDir, plugin), [], { env, input: JSON.stringify(conf), encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>) };
}

/** A command that must succeed (ip, nft); its stdout. */
function sh(file: string, ...args: string[]): string {
  const r = spawnSync(file, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A reference plugin from Debian's containernetworking-plugins, exec'd the same way. */
function reference(plugin: string, command: string, conf: object, attachment: { id: string; netns?: string; ifname: string }, cniPath = '/usr/lib/cni'): Outcome {
  // libcni passes the runtime's own environment too: portmap runs iptables from PATH.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_PATH: cniPath,
    CNI_CONTAINERID: attachment.id,
    CNI_IFNAME: attachment.ifname,
    ...(attachment.netns ? { CNI_NETNS: attachment.netns } : {}),
  };
  const r = spawnSync(join('/usr/lib/cni', plugin), [], { env, input: JSON.stringify(conf), encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>) };
}

function switchyard(...args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, SWITCHYARD_STATE_DIR: stateDir }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`switchyard ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

function netns(name: string): { ref: NetnsRef; path: string } {
  sh('ip', 'netns', 'add', name);
  sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  return { ref: { kind: 'named', name }, path: `/run/netns/${name}` };
}

/** What a container's attachment leaves in Switchyard's store, host-local's data dir and the nftables maps. */
function leftovers(network: string): { sandboxes: string[]; addresses: string[]; portElements: number } {
  const sandboxes = (JSON.parse(switchyard('sandbox', 'ls', '--json')) as { sandboxes: Array<{ name: string }> }).sandboxes.map((s) => s.name);
  const ipamDir = join(stateDir, 'ipam', 'host-local', network);
  const addresses = existsSync(ipamDir) ? readdirSync(ipamDir).filter((f) => /^[0-9a-f.:]+$/.test(f) && f.includes('.')) : [];
  const maps = spawnSync('nft', ['-j', 'list', 'table', 'inet', 'switchyard'], { encoding: 'utf8' });
  const objects = maps.status === 0 ? (JSON.parse(maps.stdout) as { nftables: Array<{ map?: { name: string; elem?: unknown[] } }> }).nftables : [];
  const portElements = objects.filter((o) => o.map && /^(pub|pubaddr|ports)[46]$/.test(o.map.name)).reduce((n, o) => n + (o.map?.elem?.length ?? 0), 0);
  return { sandboxes, addresses, portElements };
}

const bridgeConf = (version: CniVersion = '1.1.0', extra: Record<string, unknown> = {}) => ({
  cniVersion: version,
  name: 'cnit',
  type: 'switchyard-bridge',
  bridge: 'cnit0',
  isGateway: true,
  ipMasq: true,
  ipam: { type: 'host-local', subnet: '10.124.0.0/24' },
  ...extra,
});

beforeAll(() => {
  requireLab();
  if (!existsSync(join(ROOT, 'packages', 'cni', 'dist', 'executable.js'))) throw new Error('The CNI plugins are not built: run `npx tsc -b` before the kernel tests.');
  dir = mkdtempSync(join(tmpdir(), 'swy-cni-'));
  stateDir = join(dir, 'state');
  binDir = join(dir, 'bin');
  const said = switchyard('cni', 'install', '--dir', binDir);
  if (!said.includes('installed 5 CNI plugins')) throw new Error(`switchyard cni install said: ${said}`);
});

afterAll(async () => {
  for (const ns of ['cnit1', 'cnit2', 'cnit3', 'cnit4', 'cnit5', 'cnit6', 'cnit7']) spawnSync('ip', ['netns', 'del', ns]);
  spawnSync('ip', ['addr', 'del', '192.168.89.1/32', 'dev', 'lo']);
  spawnSync(process.execPath, [CLI, 'network', 'rm', 'cnit', 'cnitp', 'cnitc'], { env: { ...process.env, SWITCHYARD_STATE_DIR: stateDir } });
  rmSync(dir, { recursive: true, force: true });
});

describe('Switchyard CNI plugins, exec d as a runtime does', () => {
  it('are installed by `switchyard cni install` as executables in the bin directory', () => {
    expect(readdirSync(binDir).sort()).toEqual(['switchyard-bridge', 'switchyard-host-local', 'switchyard-ipvlan', 'switchyard-macvlan', 'switchyard-ptp']);
  });

  it.each(['switchyard-bridge', 'switchyard-ptp', 'switchyard-macvlan', 'switchyard-ipvlan', 'switchyard-host-local'])('%s answers VERSION with the four spec versions', (plugin) => {
    const out = cni(plugin, 'VERSION', { cniVersion: '0.4.0' });
    expect(out).toMatchObject({ status: 0, json: { cniVersion: '0.4.0', supportedVersions: [...SUPPORTED_VERSIONS] } });
  });

  it('switchyard-bridge ADD attaches a container: a valid result, traffic to the gateway, the sandbox in `switchyard sandbox ls`; CHECK passes; DEL leaves nothing', async () => {
    const c1 = netns('cnit1');
    const add = cni('switchyard-bridge', 'ADD', bridgeConf('0.4.0'), { id: 'c1', netns: c1.path, ifname: 'eth0' });
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    expect(resultProblems(add.json, '0.4.0')).toEqual([]);
    expect(add.json).toMatchObject({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.124.0.2/24', gateway: '10.124.0.1' }] });
    // The container interface with the MAC it has in the netns.
    const container = (add.json?.interfaces as Array<{ name: string; mac?: string; sandbox?: string }>).find((i) => i.sandbox === c1.path);
    expect(container?.mac).toBe(JSON.parse(sh('ip', '-n', 'cnit1', '-j', 'link', 'show', 'eth0'))[0].address);
    expect(await ping(c1.ref, '10.124.0.1')).toBe(true);
    expect(switchyard('sandbox', 'ls')).toContain('cni-c1');
    expect(leftovers('cnit')).toEqual({ sandboxes: ['cni-c1'], addresses: ['10.124.0.2'], portElements: 0 });
    expect(cni('switchyard-bridge', 'CHECK', bridgeConf('0.4.0', { prevResult: add.json }), { id: 'c1', netns: c1.path, ifname: 'eth0' })).toMatchObject({ status: 0, stdout: '' });
    expect(cni('switchyard-bridge', 'DEL', bridgeConf('0.4.0'), { id: 'c1', netns: c1.path, ifname: 'eth0' })).toMatchObject({ status: 0, stdout: '' });
    expect(leftovers('cnit')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
    expect(sh('ip', '-n', 'cnit1', '-o', 'link')).not.toContain('eth0');
  });

  it('publishes runtimeConfig.portMappings natively: the host reaches the container on the host port', async () => {
    const c2 = netns('cnit2');
    const conf = bridgeConf('1.1.0', { capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 18124, containerPort: 80, protocol: 'tcp' }] } });
    expect(cni('switchyard-bridge', 'ADD', conf, { id: 'c2', netns: c2.path, ifname: 'eth0' }).status).toBe(0);
    const server = await startEchoServer(c2.ref, 80);
    try {
      expect(await askEcho(HOST_NS, '127.0.0.1', 18124)).toMatch(/^from /);
    } finally {
      await server.stop();
    }
    expect(cni('switchyard-bridge', 'DEL', conf, { id: 'c2', netns: c2.path, ifname: 'eth0' }).status).toBe(0);
    expect(leftovers('cnit')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
  });

  it('DEL after the netns is gone releases the address and the port rules (the reference plugins leak them here)', async () => {
    const c3 = netns('cnit3');
    const conf = bridgeConf('1.0.0', { runtimeConfig: { portMappings: [{ hostPort: 18125, containerPort: 80 }] } });
    expect(cni('switchyard-bridge', 'ADD', conf, { id: 'c3', netns: c3.path, ifname: 'eth0' }).status).toBe(0);
    expect(leftovers('cnit')).toEqual({ sandboxes: ['cni-c3'], addresses: [expect.stringMatching(/^10\.124\.0\./)], portElements: 1 });
    sh('ip', 'netns', 'del', 'cnit3');
    expect(cni('switchyard-bridge', 'DEL', conf, { id: 'c3', ifname: 'eth0' })).toMatchObject({ status: 0, stdout: '' });
    expect(cni('switchyard-bridge', 'DEL', conf, { id: 'c3', ifname: 'eth0' })).toMatchObject({ status: 0, stdout: '' });
    expect(leftovers('cnit')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
  });

  it('errors are the spec error object on stdout with a non-zero exit, in the config version', async () => {
    const c4 = netns('cnit4');
    const bad = cni('switchyard-bridge', 'ADD', bridgeConf('0.3.1', { ipam: { type: 'host-local', subnet: 'not-a-subnet' } }), { id: 'c4', netns: c4.path, ifname: 'eth0' });
    expect(bad.status).not.toBe(0);
    expect(bad.json).toMatchObject({ cniVersion: '0.3.1', code: 7, msg: expect.any(String) });
    const noEnv = cni('switchyard-bridge', 'ADD', bridgeConf(), { id: 'c4' });
    expect(noEnv.json).toMatchObject({ code: 4, msg: expect.stringContaining('CNI_NETNS') });
    expect(leftovers('cnit')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
  });

  it('the reference tuning and portmap plugins follow switchyard-bridge in a chain: prevResult in, result out, traffic through the DNAT portmap installs', async () => {
    const c5 = netns('cnit5');
    // Its own network: the container routes through the host (isDefaultGateway), which replies through portmap's DNAT need.
    const chainConf = bridgeConf('1.0.0', { name: 'cnitc', bridge: 'cnitc0', isDefaultGateway: true, ipam: { type: 'host-local', subnet: '10.126.0.0/24' } });
    const at = { id: 'c5', netns: c5.path, ifname: 'eth0' };
    const first = cni('switchyard-bridge', 'ADD', chainConf, at);
    expect(first.status).toBe(0);
    const tuning = reference('tuning', 'ADD', { cniVersion: '1.0.0', name: 'cnitc', type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.accept_redirects': '0' }, prevResult: first.json }, at);
    expect(tuning.stderr).toBe('');
    expect(tuning.status).toBe(0);
    expect(sh('ip', 'netns', 'exec', 'cnit5', 'sysctl', '-n', 'net.ipv4.conf.eth0.accept_redirects').trim()).toBe('0');
    const portmapConf = { cniVersion: '1.0.0', name: 'cnitc', type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 18127, containerPort: 80, protocol: 'tcp' }] } };
    const portmap = reference('portmap', 'ADD', { ...portmapConf, prevResult: tuning.json }, at);
    expect(portmap.status).toBe(0);
    // The chain's final result is still ours, passed through.
    expect(portmap.json).toMatchObject({ ips: [{ address: (first.json?.ips as Array<{ address: string }>)[0]?.address }] });
    sh('ip', 'addr', 'add', '192.168.89.1/32', 'dev', 'lo');
    const server = await startEchoServer(c5.ref, 80);
    try {
      expect(await askEcho(HOST_NS, '192.168.89.1', 18127)).toBe('from 192.168.89.1');
    } finally {
      await server.stop();
    }
    // DEL in reverse order, as a runtime runs a conflist.
    expect(reference('portmap', 'DEL', { ...portmapConf, prevResult: tuning.json }, at).status).toBe(0);
    expect(reference('tuning', 'DEL', { cniVersion: '1.0.0', name: 'cnitc', type: 'tuning', prevResult: first.json }, at).status).toBe(0);
    expect(cni('switchyard-bridge', 'DEL', chainConf, at)).toMatchObject({ status: 0, stdout: '' });
    expect(leftovers('cnitc')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
  });

  it('the reference bridge takes switchyard-host-local as its IPAM: two containers reach each other, DEL releases the addresses', async () => {
    const dataDir = join(dir, 'cni-networks');
    const conf = { cniVersion: '1.0.0', name: 'cnith', type: 'bridge', bridge: 'cnith0', isGateway: true, ipam: { type: 'switchyard-host-local', dataDir, ranges: [[{ subnet: '10.127.0.0/24' }]] } };
    const spaces = [netns('cnit6'), netns('cnit7')];
    const results = spaces.map((ns, i) => reference('bridge', 'ADD', conf, { id: `h${i}`, netns: ns.path, ifname: 'eth0' }, `${binDir}:/usr/lib/cni`));
    expect(results.map((r) => r.stderr)).toEqual(['', '']);
    expect(results.map((r) => r.status)).toEqual([0, 0]);
    const ips = results.map((r) => (r.json?.ips as Array<{ address: string }>)[0]?.address);
    expect(ips).toEqual(['10.127.0.2/24', '10.127.0.3/24']);
    // The address is on the container interface, and the files are host-local's.
    expect(sh('ip', '-n', 'cnit6', '-o', 'addr', 'show', 'eth0')).toContain('10.127.0.2/24');
    expect(
      readdirSync(join(dataDir, 'cnith'))
        .filter((f) => f.startsWith('10.'))
        .sort(),
    ).toEqual(['10.127.0.2', '10.127.0.3']);
    expect(await ping(spaces[0]!.ref, '10.127.0.3')).toBe(true);
    expect(await ping(spaces[1]!.ref, '10.127.0.2')).toBe(true);
    for (const [i, ns] of spaces.entries()) expect(reference('bridge', 'DEL', conf, { id: `h${i}`, netns: ns.path, ifname: 'eth0' }, `${binDir}:/usr/lib/cni`).status).toBe(0);
    expect(readdirSync(join(dataDir, 'cnith')).filter((f) => f.startsWith('10.'))).toEqual([]);
    spawnSync('ip', ['link', 'del', 'cnith0']);
  });

  it('switchyard-ptp (the veth driver) takes a ptp config with only type changed', async () => {
    const conf = { cniVersion: '1.0.0', name: 'cnitp', type: 'switchyard-ptp', ipMasq: true, ipam: { type: 'host-local', subnet: '10.125.0.0/24' } };
    const c4 = { ref: { kind: 'named', name: 'cnit4' } as NetnsRef, path: '/run/netns/cnit4' };
    const add = cni('switchyard-ptp', 'ADD', conf, { id: 'c4', netns: c4.path, ifname: 'eth0' });
    expect(add.status).toBe(0);
    expect(resultProblems(add.json, '1.0.0')).toEqual([]);
    expect(await ping(c4.ref, '10.125.0.1')).toBe(true);
    expect(cni('switchyard-ptp', 'DEL', conf, { id: 'c4', netns: c4.path, ifname: 'eth0' }).status).toBe(0);
    expect(leftovers('cnitp')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
  });
});
