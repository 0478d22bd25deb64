import { execa } from 'execa';
import { HOST_NS, IproutesExecutor, setFaultHook, stripPrefix, type NetnsRef } from '@switchyard/core';
import { askEcho, createLabSwitchyard, execIn, isolatedFrom, ping, requireLab, startEchoServer, type EchoServer, type LabSwitchyard } from '@switchyard/core/testing';
import bridgeDriver from '@switchyard/driver-bridge';
import vethDriver from '@switchyard/driver-veth';
import macvlanDriver from '@switchyard/driver-macvlan';
import hostLocal from '@switchyard/ipam-host-local';
import { NftablesFirewall } from '../nftables-firewall.js';
import { LibnftablesRunner, NftCommandRunner } from '../nft-runner.js';

/**
 * Packets through the real nftables in the lab: an "outside" namespace plays a client on the LAN
 * (192.168.77.2, routed through the lab host at 192.168.77.1), sandboxes publish ports and go out.
 */
const OUT: NetnsRef = { kind: 'named', name: 'fw-out' };
const HOST_ADDR = '192.168.77.1';
const OUTSIDE_ADDR = '192.168.77.2';

async function sh(...argv: string[]): Promise<string> {
  const [file, ...args] = argv;
  return String((await execa(file!, args)).stdout);
}

async function nftJson(): Promise<{ nftables: Array<Record<string, { name?: string; elem?: unknown[] }>> }> {
  return JSON.parse(await sh('nft', '-j', 'list', 'table', 'inet', 'switchyard')) as { nftables: Array<Record<string, { name?: string; elem?: unknown[] }>> };
}

async function elements(name: string): Promise<number> {
  const found = (await nftJson()).nftables.find((o) => (o.map ?? o.set)?.name === name);
  const holder = found?.map ?? found?.set;
  return holder?.elem?.length ?? 0;
}

/** The table's objects and elements, without handles and in a stable order (a rebuild from the store adds them in another). */
async function tableContent(): Promise<string[]> {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'handle') out[k] = k === 'elem' && Array.isArray(x) ? x.map((e) => JSON.stringify(e)).sort() : strip(x);
    return out;
  };
  return (await nftJson()).nftables
    .filter((o) => !('metainfo' in o))
    .map((o) => JSON.stringify(strip(o)))
    .sort();
}

/** Published-port elements in all six maps. */
async function portEntries(): Promise<number> {
  let n = 0;
  for (const map of ['ports4', 'ports6', 'pubaddr4', 'pubaddr6', 'pub4', 'pub6']) n += await elements(map);
  return n;
}

async function ruleCount(): Promise<number> {
  return (await nftJson()).nftables.filter((o) => o.rule !== undefined).length;
}

// Both runners: the `nft` command (the reference) and libnftables in-process (the default).
describe.each([
  ['nft -f', () => new NftCommandRunner()],
  ['libnftables', () => new LibnftablesRunner()],
] as const)('nftables firewall on the real kernel, through %s', (_name, runner) => {
  let sy: LabSwitchyard;
  const servers: EchoServer[] = [];

  beforeAll(async () => {
    requireLab();
    await sh('ip', 'netns', 'add', 'fw-out');
    await sh('ip', 'link', 'add', 'fwo-h', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'fw-out');
    await sh('ip', 'addr', 'add', `${HOST_ADDR}/24`, 'dev', 'fwo-h');
    await sh('ip', 'link', 'set', 'fwo-h', 'up');
    await execa('nsenter', ['--net=/run/netns/fw-out', 'sh', '-c', `ip addr add ${OUTSIDE_ADDR}/24 dev eth0 && ip link set eth0 up && ip link set lo up && ip route add default via ${HOST_ADDR}`]);
    // The test reads the kernel back with the `nft` command whichever runner wrote it.
    sy = await createLabSwitchyard({ kernel: new IproutesExecutor(), drivers: [bridgeDriver, vethDriver, macvlanDriver], ipams: [hostLocal], firewall: new NftablesFirewall(runner()) });
    servers.push(await startEchoServer(OUT, 80));
  });

  afterAll(async () => {
    for (const s of servers) await s.stop();
    await sy.dispose();
    await execa('ip', ['netns', 'del', 'fw-out'], { reject: false });
    await execa('ip', ['link', 'del', 'fwo-h'], { reject: false });
  });

  it('publishes a port: the outside, the host (by address and localhost) and another sandbox reach it; the server sees the real client', async () => {
    await sy.controller.createNetwork({ name: 'web', driver: 'bridge', options: { bridge: 'swyfw-web', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.91.0.0/24' }] } });
    const s1 = await sy.controller.createSandbox({ name: 'fw-s1' });
    const s2 = await sy.controller.createSandbox({ name: 'fw-s2' });
    await sy.controller.connect('web', 'fw-s1', { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }] });
    await sy.controller.connect('web', 'fw-s2');
    servers.push(await startEchoServer(s1.netns, 80));

    expect(await askEcho(OUT, HOST_ADDR, 8080)).toBe(`from ${OUTSIDE_ADDR}`);
    expect(await askEcho(HOST_NS, HOST_ADDR, 8080)).toBe(`from ${HOST_ADDR}`);
    expect(await askEcho(HOST_NS, '127.0.0.1', 8080)).toMatch(/^from 10\.91\.0\.1$/);
    // Another sandbox through the host's address: masqueraded to the gateway so replies come back the same way.
    expect(await askEcho(s2.netns, HOST_ADDR, 8080)).toBe('from 10.91.0.1');
    // A port nobody published is not forwarded.
    expect(await askEcho(OUT, HOST_ADDR, 8081)).not.toMatch(/^from/);
  });

  it('masquerades egress: the outside sees the host address, not the sandbox', async () => {
    const s2 = await sy.controller.inspectSandbox('fw-s2');
    expect(await askEcho(s2.netns, OUTSIDE_ADDR, 80)).toBe(`from ${HOST_ADDR}`);
  });

  it('publishes UDP, and a range of host ports picked automatically', async () => {
    await sy.controller.createSandbox({ name: 'fw-udp' });
    const ep = await sy.controller.connect('web', 'fw-udp', {
      portBindings: [
        { protocol: 'udp', containerPort: 53, hostPort: 5353 },
        { protocol: 'tcp', containerPort: 80, hostPort: 0 },
      ],
    });
    const sandbox = await sy.controller.inspectSandbox('fw-udp');
    servers.push(await startEchoServer(sandbox.netns, 53, 'udp'), await startEchoServer(sandbox.netns, 80));
    expect(await askEcho(OUT, HOST_ADDR, 5353, 'udp')).toBe(`from ${OUTSIDE_ADDR}`);
    const auto = ep.portBindings.find((b) => b.protocol === 'tcp')!;
    expect(auto.hostPort).toBe(49152);
    expect(await askEcho(OUT, HOST_ADDR, auto.hostPort)).toBe(`from ${OUTSIDE_ADDR}`);
  });

  it('publishes named ports (rkt): the sandbox declares http and dns, a connect maps host ports to them by name', async () => {
    const named = await sy.controller.createSandbox({
      name: 'fw-named',
      ports: [
        { name: 'http', port: 8000, protocol: 'tcp' },
        { name: 'dns', port: 5300, protocol: 'udp' },
      ],
    });
    const ep = await sy.controller.connect('web', 'fw-named', {
      portBindings: [
        { name: 'http', hostPort: 8888 },
        { name: 'dns', hostPort: 0 },
      ],
    });
    expect(ep.portBindings.map((b) => `${b.name} ${b.hostPort}->${b.containerPort}/${b.protocol}`)).toEqual(['http 8888->8000/tcp', `dns ${ep.portBindings[1]?.hostPort}->5300/udp`]);
    servers.push(await startEchoServer(named.netns, 8000), await startEchoServer(named.netns, 5300, 'udp'));
    expect(await askEcho(OUT, HOST_ADDR, 8888)).toBe(`from ${OUTSIDE_ADDR}`);
    expect(await askEcho(OUT, HOST_ADDR, ep.portBindings[1]!.hostPort, 'udp')).toBe(`from ${OUTSIDE_ADDR}`);
    await sy.controller.deleteSandbox('fw-named');
    expect(await askEcho(OUT, HOST_ADDR, 8888)).not.toMatch(/^from/);
  });

  it('masquerades a macvlan network (ipMasq): the host shim is its gateway, the outside sees the host address; it all goes with the network', async () => {
    await sh('ip', 'link', 'add', 'fwmv0', 'type', 'veth', 'peer', 'name', 'fwmv1');
    // Both ends up: a macvlan (the shim, the sandbox's) has carrier only when its master does.
    await sh('ip', 'link', 'set', 'fwmv0', 'up');
    await sh('ip', 'link', 'set', 'fwmv1', 'up');
    try {
      const net = await sy.controller.createNetwork({ name: 'mvmasq', driver: 'macvlan', options: { master: 'fwmv0', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.89.0.0/24' }] } });
      expect(net.firewall).toMatchObject({ masquerade: true });
      const s = await sy.controller.createSandbox({ name: 'fw-mv' });
      const ep = await sy.controller.connect('mvmasq', 'fw-mv');
      expect(ep.gateway4).toBe('10.89.0.1');
      expect(await askEcho(s.netns, OUTSIDE_ADDR, 80)).toBe(`from ${HOST_ADDR}`);
      // The host reaches the sandbox by its own address (through the shim), unmasqueraded.
      servers.push(await startEchoServer(s.netns, 7070));
      expect(await askEcho(HOST_NS, stripPrefix(ep.ipv4!), 7070)).toBe('from 10.89.0.1');
      await sy.controller.deleteSandbox('fw-mv');
      await sy.controller.deleteNetwork('mvmasq');
      expect(JSON.stringify(await nftJson())).not.toContain('10.89.0.0');
    } finally {
      await sy.controller.deleteSandbox('fw-mv').catch(() => undefined);
      await sy.controller.deleteNetwork('mvmasq').catch(() => undefined);
      await execa('ip', ['link', 'del', 'fwmv0'], { reject: false });
    }
  });

  it('IPv6: a published port answers on the host IPv6 address with the real client, and egress is masqueraded', async () => {
    await sh('ip', 'addr', 'add', 'fd00:77::1/64', 'dev', 'fwo-h', 'nodad');
    await execIn(OUT, ['ip', 'addr', 'add', 'fd00:77::2/64', 'dev', 'eth0', 'nodad']);
    await execIn(OUT, ['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:77::1']);
    await sy.controller.createNetwork({ name: 'web6', driver: 'bridge', ipv6: true, options: { bridge: 'swyfw-web6', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.98.0.0/24' }], ipv6: [{ subnet: 'fd00:98::/64' }] } });
    const s6 = await sy.controller.createSandbox({ name: 'fw-s6' });
    const ep = await sy.controller.connect('web6', 'fw-s6', { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8086 }] });
    expect(ep.ipv6).toBeDefined();
    servers.push(await startEchoServer(s6.netns, 80));
    expect((await sh('sysctl', '-n', 'net.ipv6.conf.all.forwarding')).trim()).toBe('1');
    // The first IPv6 exchange may wait for the new bridge's link-local address to finish DAD (~1-2 s).
    expect(await askEcho(OUT, 'fd00:77::1', 8086, 'tcp', 6000)).toBe('from fd00:77::2');
    expect(await askEcho(OUT, HOST_ADDR, 8086)).toBe(`from ${OUTSIDE_ADDR}`);
    expect(await askEcho(s6.netns, 'fd00:77::2', 80, 'tcp', 6000)).toBe('from fd00:77::1');
    await sy.controller.deleteSandbox('fw-s6');
    await sy.controller.deleteNetwork('web6');
  });

  it('refuses a host port another sandbox holds, naming it, and changes nothing', async () => {
    await sy.controller.createSandbox({ name: 'fw-late' });
    const before = { ports: await portEntries(), rules: await ruleCount(), sandbox: await sy.controller.inspectSandbox('fw-late') };
    await expect(sy.controller.connect('web', 'fw-late', { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080, hostIp: HOST_ADDR }] })).rejects.toMatchObject({
      code: 'SWY_ERR_PORT_CONFLICT',
      message: expect.stringContaining('fw-s1'),
    });
    expect({ ports: await portEntries(), rules: await ruleCount(), sandbox: await sy.controller.inspectSandbox('fw-late') }).toEqual(before);
  });

  it('keeps networks apart with forwarding on, yet lets them use each other\u2019s published ports', async () => {
    expect((await sh('sysctl', '-n', 'net.ipv4.ip_forward')).trim()).toBe('1');
    await sy.controller.createNetwork({ name: 'other', driver: 'bridge', options: { bridge: 'swyfw-other', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.92.0.0/24' }] } });
    const o = await sy.controller.createSandbox({ name: 'fw-o' });
    await sy.controller.connect('other', 'fw-o');
    const s1 = (await sy.controller.inspectSandbox('fw-s1')).endpoints[0]!;
    expect(await isolatedFrom(o.netns, stripPrefix(s1.ipv4!), { control: '10.92.0.1' })).toBe(true);
    expect(await askEcho(o.netns, HOST_ADDR, 8080)).toBe('from 10.91.0.1');
  });

  it('an internal network gets no egress and refuses published ports', async () => {
    await sy.controller.createNetwork({ name: 'vault', driver: 'bridge', internal: true, options: { bridge: 'swyfw-vault', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.93.0.0/24' }] } });
    const v = await sy.controller.createSandbox({ name: 'fw-v' });
    await sy.controller.connect('vault', 'fw-v');
    // The outside answers the host, so silence from the sandbox is the firewall's doing.
    expect(await askEcho(HOST_NS, OUTSIDE_ADDR, 80)).toBe(`from ${HOST_ADDR}`);
    expect(await askEcho(v.netns, OUTSIDE_ADDR, 80)).not.toMatch(/^from/);
    await sy.controller.createSandbox({ name: 'fw-v2' });
    await expect(sy.controller.connect('vault', 'fw-v2', { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 9000 }] })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
    expect((await sy.controller.inspectSandbox('fw-v2')).endpoints).toEqual([]);
  });

  it('a veth (point-to-point) network with ipMasq goes out masqueraded', async () => {
    await sy.controller.createNetwork({ name: 'ptp', driver: 'veth', options: { ipMasq: true }, ipam: { ipv4: [{ subnet: '10.94.0.0/24' }] } });
    const p = await sy.controller.createSandbox({ name: 'fw-p' });
    await sy.controller.connect('ptp', 'fw-p', { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8090 }] });
    servers.push(await startEchoServer(p.netns, 80));
    expect(await askEcho(p.netns, OUTSIDE_ADDR, 80)).toBe(`from ${HOST_ADDR}`);
    expect(await askEcho(OUT, HOST_ADDR, 8090)).toBe(`from ${OUTSIDE_ADDR}`);
  });

  it('after `nft flush ruleset`, opening Switchyard notices and reinstalls the rules', async () => {
    const before = await tableContent();
    await sh('nft', 'flush', 'ruleset');
    // (Probed from the host: a refused client's conntrack entry would keep its un-NATed binding for seconds.)
    expect(await askEcho(HOST_NS, HOST_ADDR, 8080)).not.toMatch(/^from/);
    expect((await sy.controller.checkFirewall()).problems).toEqual(['table inet switchyard is missing']);
    expect(await sy.controller.restoreFirewall()).toEqual(['table inet switchyard is missing']);
    expect(await askEcho(OUT, HOST_ADDR, 8080)).toBe(`from ${OUTSIDE_ADDR}`);
    expect(await tableContent()).toEqual(before);
    // A missing element is noticed too; reload puts it back.
    await sh('nft', 'flush', 'map', 'inet', 'switchyard', 'pub4');
    expect((await sy.controller.checkFirewall()).problems).toEqual([expect.stringMatching(/^inet pub4 holds 0 entries/)]);
    await sy.controller.reloadFirewall();
    expect((await sy.controller.checkFirewall()).problems).toEqual([]);
    expect(await askEcho(OUT, HOST_ADDR, 8080)).toBe(`from ${OUTSIDE_ADDR}`);
  });

  it('disconnects and deletes take their elements and chains along; the rule count never grew with ports', async () => {
    const rules = await ruleCount();
    for (const [net, sb] of [
      ['web', 'fw-s1'],
      ['web', 'fw-s2'],
      ['web', 'fw-udp'],
      ['other', 'fw-o'],
      ['vault', 'fw-v'],
      ['ptp', 'fw-p'],
    ] as const) {
      await sy.controller.disconnect(net, sb);
    }
    expect(await portEntries()).toBe(0);
    expect(await elements('from_net')).toBe(3);
    // Per-network chains hold 2-3 rules each; the base chains a fixed dozen: nothing per port or endpoint.
    expect(await ruleCount()).toBe(rules);
    for (const net of ['web', 'other', 'vault', 'ptp']) await sy.controller.deleteNetwork(net);
    const left = (await nftJson()).nftables;
    expect(
      left
        .filter((o) => o.chain)
        .map((o) => o.chain!.name)
        .sort(),
    ).toEqual(['antispoof', 'forward', 'nat-output', 'nat-postrouting', 'nat-prerouting']);
    for (const set of ['from_net', 'ifaces', 'masq4', 'subnets4', 'ports4', 'ports6', 'pubaddr4', 'pubaddr6', 'pub4', 'pub6']) expect(await elements(set)).toBe(0);
    expect((await sy.controller.checkFirewall()).problems).toEqual([]);
  });

  /** A sandbox on a new anti-spoofing network; checks that it goes out from its own address and not from one it gives itself. */
  async function spoofFromAddress(net: string, driver: 'veth' | 'bridge', subnet: string, options: Record<string, unknown>) {
    await sy.controller.createNetwork({ name: net, driver, options: { ipMasq: true, antiSpoof: true, ...options }, ipam: { ipv4: [{ subnet }] } });
    const sb = await sy.controller.createSandbox({ name: `fw-${net}` });
    const ep = await sy.controller.connect(net, sb.name);
    const before = await askEcho(sb.netns, OUTSIDE_ADDR, 80);
    const spoofed = subnet.replace('0/24', '200');
    await execIn(sb.netns, ['ip', 'addr', 'add', `${spoofed}/32`, 'dev', ep.ifname]);
    // Give the replies a way back (on a bridge ARP finds it), so only anti-spoofing can stop the exchange.
    if (ep.hostInterface) await sh('ip', 'route', 'add', `${spoofed}/32`, 'dev', ep.hostInterface);
    const r = await execIn(sb.netns, ['ping', '-c', '2', '-i', '0.3', '-W', '1', '-I', spoofed, OUTSIDE_ADDR], { allowFailure: true });
    await execIn(sb.netns, ['ip', 'addr', 'del', `${spoofed}/32`, 'dev', ep.ifname]);
    return { sb, ep, before, spoofedReplies: /\b0 received\b/.test(r.stdout) ? 0 : 1, after: await ping(sb.netns, OUTSIDE_ADDR) };
  }

  it('anti-spoofing on a veth network: a sandbox sends only from its own addresses', async () => {
    const { sb, before, spoofedReplies, after } = await spoofFromAddress('guard-ptp', 'veth', '10.96.0.0/24', {});
    expect({ before, spoofedReplies, after }).toEqual({ before: `from ${HOST_ADDR}`, spoofedReplies: 0, after: true });
    await sy.controller.deleteSandbox(sb.name);
    await sy.controller.deleteNetwork('guard-ptp');
    for (const set of ['guarded', 'allow4']) expect(await elements(set)).toBe(0);
  });

  it('anti-spoofing on a bridge network: a sandbox sends only from its own MAC and addresses', async () => {
    const { sb, ep, before, spoofedReplies, after } = await spoofFromAddress('guard-br', 'bridge', '10.97.0.0/24', { bridge: 'swyfw-guard' });
    expect({ before, spoofedReplies, after }).toEqual({ before: `from ${HOST_ADDR}`, spoofedReplies: 0, after: true });
    // A MAC it was not given is dropped at the bridge port; its own works again.
    await execIn(sb.netns, ['ip', 'link', 'set', ep.ifname, 'address', '02:66:66:66:66:66']);
    expect(await ping(sb.netns, OUTSIDE_ADDR, { tries: 2 })).toBe(false);
    await execIn(sb.netns, ['ip', 'link', 'set', ep.ifname, 'address', ep.mac!]);
    expect(await ping(sb.netns, OUTSIDE_ADDR)).toBe(true);
    // A missing bridge-port element is noticed (the verify reads the bridge table too) and restored.
    await sh('nft', 'flush', 'set', 'bridge', 'switchyard', 'allow_mac');
    expect((await sy.controller.checkFirewall()).problems).toEqual([expect.stringMatching(/^bridge allow_mac holds 0 entries, 1 expected/)]);
    await sy.controller.restoreFirewall();
    expect((await sy.controller.checkFirewall()).problems).toEqual([]);
    expect(await ping(sb.netns, OUTSIDE_ADDR)).toBe(true);
    await sy.controller.deleteSandbox(sb.name);
    await sy.controller.deleteNetwork('guard-br');
    const bridgeSet = JSON.parse(await sh('nft', '-j', 'list', 'set', 'bridge', 'switchyard', 'allow_mac')) as { nftables: Array<{ set?: { elem?: unknown[] } }> };
    expect(bridgeSet.nftables.find((o) => o.set)?.set?.elem ?? []).toEqual([]);
  });

  it('a connect whose later step fails takes its firewall elements back out', async () => {
    await sy.controller.createNetwork({ name: 'rb', driver: 'bridge', options: { bridge: 'swyfw-rb', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.95.0.0/24' }] } });
    await sy.controller.createSandbox({ name: 'fw-rb' });
    const before = await tableContent();
    // The step right after the firewall transaction fails (as a failed commit would).
    setFaultHook((point) => {
      if (point === 'connect:firewall-applied') throw new Error('injected failure after the firewall transaction');
    });
    try {
      await expect(sy.controller.connect('rb', 'fw-rb', { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8444 }] })).rejects.toThrow('injected failure');
    } finally {
      setFaultHook(undefined);
    }
    expect(await tableContent()).toEqual(before);
    expect((await sy.controller.inspectSandbox('fw-rb')).endpoints).toEqual([]);
    // And the port is free again.
    await sy.controller.connect('rb', 'fw-rb', { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8444 }] });
    expect(await portEntries()).toBe(1);
  });
});
