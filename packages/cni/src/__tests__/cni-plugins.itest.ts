import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_NS, type NetnsRef } from '@switchyard/core';
import { askEcho, ping, requireLab, startEchoServer } from '@switchyard/core/testing';
import { CniLab, netns, reference, sh } from './cni-harness.js';
import { resultProblems } from '../protocol/result.js';
import { SUPPORTED_VERSIONS, type CniVersion } from '../protocol/versions.js';

/** The plugins exec'd as a runtime does (cni-harness.ts), on the real kernel in the lab namespace. */
let lab: CniLab;
const cni = (...args: Parameters<CniLab['cni']>) => lab.cni(...args);
const switchyard = (...args: string[]) => lab.switchyard(...args);
const leftovers = (network: string) => lab.leftovers(network);

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
  lab = new CniLab();
  if (!lab.installed.includes('installed 5 CNI plugins')) throw new Error(`switchyard cni install said: ${lab.installed}`);
});

afterAll(async () => {
  for (const ns of ['cnit1', 'cnit2', 'cnit3', 'cnit4', 'cnit5', 'cnit6', 'cnit7', 'cnit8']) spawnSync('ip', ['netns', 'del', ns]);
  spawnSync('ip', ['addr', 'del', '192.168.89.1/32', 'dev', 'lo']);
  lab.dispose(['cnit', 'cnitp', 'cnitc', 'cnitf', 'cnitv']);
});

describe('Switchyard CNI plugins, exec d as a runtime does', () => {
  it('are installed by `switchyard cni install` as executables in the bin directory', () => {
    expect(readdirSync(lab.binDir).sort()).toEqual(['switchyard-bridge', 'switchyard-host-local', 'switchyard-ipvlan', 'switchyard-macvlan', 'switchyard-ptp']);
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

  it.each([...SUPPORTED_VERSIONS])('speaks %s through every command: results valid for the version, commands the version predates refused with code 1', async (version) => {
    const ns = netns(`cniv${version.replaceAll('.', '')}`);
    const at = { id: `v${version}`, netns: ns.path, ifname: 'eth0' };
    const conf = bridgeConf(version, { name: 'cnitv', bridge: 'cnitv0', ipam: { type: 'host-local', subnet: '10.123.0.0/24' } });
    const add = cni('switchyard-bridge', 'ADD', conf, at);
    expect(add.status).toBe(0);
    expect(add.json?.cniVersion).toBe(version);
    expect(resultProblems(add.json, version)).toEqual([]);
    const newer = (min: string) => version.localeCompare(min, undefined, { numeric: true }) >= 0;
    const check = cni('switchyard-bridge', 'CHECK', { ...conf, prevResult: add.json }, at);
    expect(newer('0.4.0') ? [check.status, check.stdout] : [check.status, check.json?.code]).toEqual(newer('0.4.0') ? [0, ''] : [1, 1]);
    const status = cni('switchyard-bridge', 'STATUS', conf, at);
    const gc = cni('switchyard-bridge', 'GC', { ...conf, 'cni.dev/valid-attachments': [{ containerID: at.id, ifname: 'eth0' }] }, {});
    for (const out of [status, gc]) expect(newer('1.1.0') ? [out.status, out.stdout] : [out.status, out.json?.code]).toEqual(newer('1.1.0') ? [0, ''] : [1, 1]);
    expect(cni('switchyard-bridge', 'VERSION', { cniVersion: version }).json).toEqual({ cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] });
    // GC kept the valid attachment; DEL removes it.
    expect(leftovers('cnitv').sandboxes).toEqual([`cni-v${version}`]);
    expect(cni('switchyard-bridge', 'DEL', conf, at)).toMatchObject({ status: 0, stdout: '' });
    expect(leftovers('cnitv')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
    sh('ip', 'netns', 'del', `cniv${version.replaceAll('.', '')}`);
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

  it('the reference firewall and bandwidth plugins follow switchyard-bridge: their rules and shaping go in and leave with DEL', async () => {
    const c8 = netns('cnit8');
    const conf = bridgeConf('1.0.0', { name: 'cnitf', bridge: 'cnitf0', isDefaultGateway: true, ipam: { type: 'host-local', subnet: '10.128.0.0/24' } });
    const at = { id: 'c8', netns: c8.path, ifname: 'eth0' };
    const first = cni('switchyard-bridge', 'ADD', conf, at);
    expect(first.status).toBe(0);
    const address = (first.json?.ips as Array<{ address: string }>)[0]?.address.split('/')[0] as string;
    const firewallConf = { cniVersion: '1.0.0', name: 'cnitf', type: 'firewall', backend: 'iptables' };
    const firewall = reference('firewall', 'ADD', { ...firewallConf, prevResult: first.json }, at);
    expect(firewall.stderr).toBe('');
    expect(firewall.status).toBe(0);
    expect(sh('iptables', '-S', 'CNI-FORWARD')).toContain(address);
    const bandwidthConf = {
      cniVersion: '1.0.0',
      name: 'cnitf',
      type: 'bandwidth',
      capabilities: { bandwidth: true },
      runtimeConfig: { bandwidth: { ingressRate: 8000000, ingressBurst: 80000, egressRate: 8000000, egressBurst: 80000 } },
    };
    const bandwidth = reference('bandwidth', 'ADD', { ...bandwidthConf, prevResult: firewall.json }, at);
    expect([bandwidth.status, bandwidth.stderr, bandwidth.stdout]).toEqual([0, '', expect.any(String)]);
    // The shaping sits on our veth's host end, the interface bandwidth found in our result.
    const hostEnd = (first.json?.interfaces as Array<{ name: string; sandbox?: string }>).filter((i) => !i.sandbox).map((i) => i.name);
    expect(hostEnd.some((name) => sh('tc', 'qdisc', 'show', 'dev', name).includes('tbf'))).toBe(true);
    // Traffic still flows through our bridge, with their firewall in the path.
    expect(await ping(c8.ref, '10.128.0.1')).toBe(true);
    expect(reference('bandwidth', 'DEL', { ...bandwidthConf, prevResult: firewall.json }, at).status).toBe(0);
    expect(reference('firewall', 'DEL', { ...firewallConf, prevResult: first.json }, at).status).toBe(0);
    expect(cni('switchyard-bridge', 'DEL', conf, at)).toMatchObject({ status: 0, stdout: '' });
    expect(sh('iptables', '-S', 'CNI-FORWARD')).not.toContain(address);
    expect(sh('ip', '-o', 'link')).not.toMatch(/bwp|ifb/);
    expect(leftovers('cnitf')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
  });

  it('the reference bridge takes switchyard-host-local as its IPAM: two containers reach each other, DEL releases the addresses', async () => {
    const dataDir = join(lab.dir, 'cni-networks');
    const conf = { cniVersion: '1.0.0', name: 'cnith', type: 'bridge', bridge: 'cnith0', isGateway: true, ipam: { type: 'switchyard-host-local', dataDir, ranges: [[{ subnet: '10.127.0.0/24' }]] } };
    const spaces = [netns('cnit6'), netns('cnit7')];
    const results = spaces.map((ns, i) => reference('bridge', 'ADD', conf, { id: `h${i}`, netns: ns.path, ifname: 'eth0' }, `${lab.binDir}:/usr/lib/cni`));
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
    for (const [i, ns] of spaces.entries()) expect(reference('bridge', 'DEL', conf, { id: `h${i}`, netns: ns.path, ifname: 'eth0' }, `${lab.binDir}:/usr/lib/cni`).status).toBe(0);
    expect(readdirSync(join(dataDir, 'cnith')).filter((f) => f.startsWith('10.'))).toEqual([]);
    spawnSync('ip', ['link', 'del', 'cnith0']);
  });

  it('switchyard-macvlan takes a macvlan config with only type changed: two containers on one master reach each other', async () => {
    // The master: one end of a veth pair in the lab, as a host's NIC.
    sh('ip', 'link', 'add', 'cnitm0', 'type', 'veth', 'peer', 'name', 'cnitm1');
    sh('ip', 'link', 'set', 'cnitm0', 'up');
    sh('ip', 'link', 'set', 'cnitm1', 'up');
    const conf = { cniVersion: '1.0.0', name: 'cnitmv', type: 'switchyard-macvlan', master: 'cnitm0', mode: 'bridge', ipam: { type: 'host-local', subnet: '10.122.0.0/24' } };
    const spaces = [netns('cnitm2'), netns('cnitm3')];
    const adds = spaces.map((ns, i) => cni('switchyard-macvlan', 'ADD', conf, { id: `m${i}`, netns: ns.path, ifname: 'eth0' }));
    expect(adds.map((a) => a.status)).toEqual([0, 0]);
    for (const a of adds) expect(resultProblems(a.json, '1.0.0')).toEqual([]);
    const second = (adds[1]?.json?.ips as Array<{ address: string }>)[0]?.address.split('/')[0] as string;
    expect(sh('ip', '-n', 'cnitm2', '-d', 'link', 'show', 'eth0')).toContain('macvlan mode bridge');
    expect(await ping(spaces[0]!.ref, second)).toBe(true);
    for (const [i, ns] of spaces.entries()) expect(cni('switchyard-macvlan', 'DEL', conf, { id: `m${i}`, netns: ns.path, ifname: 'eth0' }).status).toBe(0);
    expect(leftovers('cnitmv')).toEqual({ sandboxes: [], addresses: [], portElements: 0 });
    expect(sh('ip', '-n', 'cnitm2', '-o', 'link')).not.toContain('eth0');
    lab.switchyard('network', 'rm', 'cnitmv');
    for (const ns of ['cnitm2', 'cnitm3']) sh('ip', 'netns', 'del', ns);
    sh('ip', 'link', 'del', 'cnitm0');
  });

  it('`switchyard cni add|check|del|status|gc` runs a conflist of reference plugins by hand, as cnitool does', async () => {
    const file = join(lab.dir, '30-tool.conflist');
    const dataDir = join(lab.dir, 'tool-ipam');
    writeFileSync(
      file,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tooled',
        plugins: [
          { type: 'bridge', bridge: 'tooled0', isGateway: true, ipam: { type: 'host-local', subnet: '10.120.0.0/24', dataDir } },
          { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.accept_redirects': '0' } },
        ],
      }),
    );
    const ns = netns('cnitool1');
    const result = JSON.parse(switchyard('cni', 'add', file, ns.path, '--json')) as { result: Record<string, unknown> };
    expect(resultProblems(result.result, '1.0.0')).toEqual([]);
    expect(sh('ip', '-n', 'cnitool1', '-4', '-br', 'addr', 'show', 'dev', 'eth0')).toContain('10.120.0.2/24');
    expect(sh('ip', 'netns', 'exec', 'cnitool1', 'sysctl', '-n', 'net.ipv4.conf.eth0.accept_redirects').trim()).toBe('0');
    expect(await ping(ns.ref, '10.120.0.1')).toBe(true);
    expect(switchyard('cni', 'check', file, ns.path)).toContain('checks out');
    // Debian's plugins speak up to 1.0.0: no STATUS to ask.
    expect(switchyard('cni', 'status', file)).toContain('has no STATUS');
    switchyard('cni', 'del', file, ns.path);
    expect(sh('ip', '-n', 'cnitool1', '-o', 'link')).not.toContain('eth0');
    expect(readdirSync(join(dataDir, 'tooled')).filter((f) => f.startsWith('10.'))).toEqual([]);
    // GC: an attachment `cni add` made and the runtime no longer lists goes (a netns gone: DEL without one).
    switchyard('cni', 'add', file, ns.path);
    sh('ip', 'netns', 'del', 'cnitool1');
    expect(switchyard('cni', 'gc', file)).toMatch(/removed tooled\/switchyard-cni-[0-9a-f]+\/eth0/);
    expect(readdirSync(join(dataDir, 'tooled')).filter((f) => f.startsWith('10.'))).toEqual([]);
    spawnSync('ip', ['link', 'del', 'tooled0']);
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
