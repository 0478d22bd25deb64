import { spawn, spawnSync } from 'node:child_process';
import { waitUntil } from '@switchyard/core/testing';
import type { LabHost } from '@switchyard/agent';
import { openEtcdStore } from '@switchyard/store-etcd';
import { BIN } from './cli-lab.js';
import { remoteFdb, startClusterLab, stopClusterLab, type ClusterLab } from './cluster-lab.js';

// Multi-host networks through the CLI on the real kernel (issue 14): three "hosts" (namespaces on an
// underlay bridge), etcd on the underlay, `switchyard agent` on each host, sandboxes on each host.
// h3 dies in the last test: a short lease; the others keep theirs across an agent restart.
const TTL = 2;
let c: ClusterLab;
let h1: LabHost, h2: LabHost, h3: LabHost;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `switchyard …` run on a host (its namespace, its state dir, the cluster's etcd). */
function sy(host: LabHost, ...args: string[]): Result {
  const r = c.lab.switchyard(host, c.etcd.url, args);
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}
function ok(host: LabHost, ...args: string[]): string {
  const r = sy(host, ...args);
  if (r.code !== 0) throw new Error(`[${host.name}] switchyard ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}
/** A command inside a namespace by name (a host's, or a sandbox's under /run/netns). */
function inNs(ns: string, file: string, args: string[], input?: string): Result {
  const r = spawnSync('nsenter', [`--net=/run/netns/${ns}`, file, ...args], { encoding: 'utf8', ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input }) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
async function waitForHost(name: string, present = true): Promise<void> {
  await waitUntil(async () => ((await c.store.host(name)) !== undefined) === present, `host ${name} ${present ? 'registered' : 'gone'}`);
}
/** The sandbox's namespace and address on a network, from `sandbox inspect`. */
function sandboxInfo(host: LabHost, name: string, network: string): { netns: string; ip: string; mac: string } {
  const { sandbox } = JSON.parse(ok(host, '--json', 'sandbox', 'inspect', name)) as { sandbox: { netns: { name: string }; endpoints: Array<{ networkName: string; ipv4: string; mac: string }> } };
  const ep = sandbox.endpoints.find((e) => e.networkName === network)!;
  return { netns: sandbox.netns.name, ip: ep.ipv4.split('/')[0]!, mac: ep.mac };
}
function ping(ns: string, ip: string, count = 1): boolean {
  return inNs(ns, 'ping', ['-c', String(count), '-W', '1', '-i', '0.2', ip]).code === 0;
}
/** Opens a TCP connection from one namespace to a listener in another; resolves to the source address the listener saw. */
async function tcpSourceSeen(from: string, to: string, toIp: string): Promise<string> {
  const server = `const s=require('net').createServer(c=>{process.stdout.write(c.remoteAddress);c.end();s.close()});s.listen(7777,'${toIp}',()=>process.stderr.write('up'))`;
  const child = spawn('nsenter', [`--net=/run/netns/${to}`, process.execPath, '-e', server]);
  let seen = '';
  child.stdout.on('data', (d: Buffer) => (seen += d.toString()));
  await new Promise((r) => child.stderr.once('data', r));
  const client = inNs(from, process.execPath, ['-e', `require('net').connect(7777,'${toIp}',function(){this.on('data',()=>{});this.end()})`]);
  if (client.code !== 0) child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return seen;
}
/**
 * VXLAN packets (UDP 4789) arriving on a host's underlay interface, whoever they are addressed to: an
 * nftables counter at the interface's ingress hook (before the stack drops frames for other MACs).
 */
function vxlanArrivals(host: LabHost): number {
  const list = () => inNs(host.name, 'nft', ['-j', 'list', 'chain', 'netdev', 'swytest', 'ul0in']);
  if (list().code !== 0) {
    const add = inNs(host.name, 'nft', ['-f', '-'], 'table netdev swytest {\n chain ul0in {\n  type filter hook ingress device "ul0" priority 0;\n  udp dport 4789 counter\n }\n}\n');
    if (add.code !== 0) throw new Error(`nft: ${add.stderr}`);
  }
  const rules = (JSON.parse(list().stdout) as { nftables: Array<{ rule?: { expr: Array<{ counter?: { packets: number } }> } }> }).nftables;
  return rules.flatMap((r) => r.rule?.expr ?? []).find((e) => e.counter)!.counter!.packets;
}
function linkNames(ns: string): string[] {
  return (JSON.parse(inNs(ns, 'ip', ['-j', 'link', 'show']).stdout) as Array<{ ifname: string }>).map((l) => l.ifname).sort();
}

beforeAll(async () => {
  c = await startClusterLab({ prefix: 'swymh', hosts: 3, underlay: '10.99.0', sandboxes: /^mh[a-z0-9]+$/, ttl: (h) => (h.name === 'swymh3' ? TTL : 10) });
  [h1, h2, h3] = c.hosts as [LabHost, LabHost, LabHost];
});

afterAll(() => stopClusterLab(c));

describe('multi-host commands given what they cannot use', () => {
  it('refuse with coded errors and change nothing', () => {
    const plain = spawnSync('nsenter', [`--net=/run/netns/${h1.name}`, process.execPath, BIN, 'network', 'create', 'nostore', '--driver', 'overlay'], {
      env: { ...process.env, SWITCHYARD_STATE_DIR: h1.stateDir, SWITCHYARD_DNS: 'none' },
      encoding: 'utf8',
    });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toContain('SWY_ERR_GLOBAL_STORE_MISSING');
    const elsewhere = sy(h1, 'agent', '--address', '10.99.0.77');
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toContain('SWY_ERR_UNDERLAY_INVALID');
    const badUrl = sy(h1, '--etcd', 'ftp://x', 'network', 'ls');
    expect(badUrl.code).not.toBe(0);
    expect(badUrl.stderr).toContain('SWY_ERR_INVALID_OPTION');
    expect((JSON.parse(ok(h1, '--json', 'network', 'ls')) as { networks: unknown[] }).networks).toEqual([]);
  });
});

describe('an overlay network across three hosts', () => {
  let a1: ReturnType<typeof sandboxInfo>, b1: ReturnType<typeof sandboxInfo>, c1: ReturnType<typeof sandboxInfo>;

  it('is one network with one VNI on every host: the first host gives the subnet, the others adopt it', () => {
    ok(h1, 'network', 'create', 'ov', '--driver', 'overlay', '--subnet', '10.200.0.0/16');
    ok(h2, 'network', 'create', 'ov', '--driver', 'overlay');
    ok(h3, 'network', 'create', 'ov', '--driver', 'overlay');
    const seen = c.hosts.map((h) => {
      const net = JSON.parse(ok(h, '--json', 'network', 'inspect', 'ov')) as { network: { ipv4: { subnet: string }; driverState: { vni: number; vxlan: string; mtu: number } } };
      const link = (
        JSON.parse(inNs(h.name, 'ip', ['-d', '-j', 'link', 'show', net.network.driverState.vxlan]).stdout) as Array<{
          mtu: number;
          linkinfo: { info_data: { id: number; port: number; learning: boolean; proxy: boolean; local: string } };
        }>
      )[0]!;
      return {
        subnet: net.network.ipv4.subnet,
        vni: link.linkinfo.info_data.id,
        port: link.linkinfo.info_data.port,
        learning: link.linkinfo.info_data.learning,
        proxy: link.linkinfo.info_data.proxy,
        local: link.linkinfo.info_data.local,
        mtu: link.mtu,
      };
    });
    expect(new Set(seen.map((s) => `${s.subnet} ${s.vni}`)).size).toBe(1);
    expect(seen[0]).toMatchObject({ subnet: '10.200.0.0/16', port: 4789, learning: false, proxy: true, mtu: 1450 });
    expect(seen.map((s) => s.local)).toEqual(c.hosts.map((h) => h.address));
  });

  it('carries ping and TCP between sandboxes on different hosts, with the real source address', async () => {
    for (const [h, name] of [
      [h1, 'mha1'],
      [h2, 'mhb1'],
      [h3, 'mhc1'],
    ] as const) {
      ok(h, 'sandbox', 'create', name);
      ok(h, 'connect', 'ov', name);
    }
    [a1, b1, c1] = [sandboxInfo(h1, 'mha1', 'ov'), sandboxInfo(h2, 'mhb1', 'ov'), sandboxInfo(h3, 'mhc1', 'ov')];
    expect(new Set([a1.ip, b1.ip, c1.ip]).size).toBe(3);
    await waitUntil(() => ping(a1.netns, b1.ip) && ping(b1.netns, c1.ip) && ping(c1.netns, a1.ip), 'ping across all three hosts');
    expect(await tcpSourceSeen(a1.netns, b1.netns, b1.ip)).toBe(a1.ip);
    expect(await tcpSourceSeen(c1.netns, a1.netns, a1.ip)).toBe(c1.ip);
    // Exactly one forwarding entry per remote endpoint, and no all-zero (flooding) entry.
    // (so no all-zero, flooding, entry either).
    expect(remoteFdb(h1)).toEqual([`${b1.mac} ${h2.address}`, `${c1.mac} ${h3.address}`].sort());
  });

  it('sends unicast to the one host that has the destination: a bystander host receives none of it', () => {
    const [toH2, toH3] = [vxlanArrivals(h2), vxlanArrivals(h3)];
    expect(inNs(a1.netns, 'ping', ['-q', '-c', '500', '-i', '0.002', '-s', '1000', b1.ip]).code).toBe(0);
    const [gotH2, gotH3] = [vxlanArrivals(h2) - toH2, vxlanArrivals(h3) - toH3];
    process.stderr.write(`VXLAN packets during 500 pings a1 -> b1: ${gotH2} arrived at h2, ${gotH3} at h3 (the bystander)\n`);
    expect(gotH2).toBeGreaterThanOrEqual(500);
    expect(gotH3).toBe(0);
    // The control: what flooding does. An all-zero entry towards h3 on h1 (what a flooding overlay has)
    // and the same pings reach the bystander too.
    const vxlan = (JSON.parse(ok(h1, '--json', 'network', 'inspect', 'ov')) as { network: { driverState: { vxlan: string } } }).network.driverState.vxlan;
    const flood = ['00:00:00:00:00:00', 'dev', vxlan, 'dst', h3.address, 'self', 'permanent'];
    expect(inNs(h1.name, 'bridge', ['fdb', 'append', ...flood]).code).toBe(0);
    try {
      const before = vxlanArrivals(h3);
      // A destination no FDB entry knows (an unknown unicast MAC) is what the all-zero entry floods.
      inNs(a1.netns, 'ip', ['neigh', 'replace', '10.200.255.250', 'lladdr', '02:00:00:00:99:99', 'dev', 'eth0']);
      inNs(a1.netns, 'ping', ['-q', '-c', '50', '-i', '0.002', '-W', '1', '10.200.255.250']);
      expect(vxlanArrivals(h3) - before).toBeGreaterThanOrEqual(50);
    } finally {
      inNs(h1.name, 'bridge', ['fdb', 'del', ...flood.slice(0, 6)]);
      inNs(a1.netns, 'ip', ['neigh', 'del', '10.200.255.250', 'dev', 'eth0']);
    }
  });
});

describe('a routed network (host-gw) across hosts', () => {
  it('gives each host its own subnet and routes pods to pods and hosts to pods without NAT', async () => {
    ok(h1, 'network', 'create', 'rt', '--driver', 'routed', '--subnet', '10.210.0.0/16');
    ok(h2, 'network', 'create', 'rt', '--driver', 'routed');
    ok(h1, 'sandbox', 'create', 'mhr1');
    ok(h1, 'connect', 'rt', 'mhr1');
    ok(h2, 'sandbox', 'create', 'mhr2');
    ok(h2, 'connect', 'rt', 'mhr2');
    const [r1, r2] = [sandboxInfo(h1, 'mhr1', 'rt'), sandboxInfo(h2, 'mhr2', 'rt')];
    const block = (ip: string) => ip.split('.').slice(0, 3).join('.');
    expect(block(r1.ip)).not.toBe(block(r2.ip));
    await waitUntil(() => ping(r1.netns, r2.ip), 'pod to pod across hosts');
    expect(await tcpSourceSeen(r1.netns, r2.netns, r2.ip)).toBe(r1.ip);
    // h3 has no routed network of its own, and still reaches the pods of the others.
    await waitUntil(() => ping(h3.name, r1.ip) && ping(h3.name, r2.ip), 'host h3 to pods on h1 and h2');
    const routes = JSON.parse(inNs(h3.name, 'ip', ['-j', 'route', 'show', 'proto', '83']).stdout) as Array<{ dst: string; gateway: string }>;
    expect(routes.map((r) => `${r.dst} via ${r.gateway}`).sort()).toEqual([`${block(r1.ip)}.0/24 via ${h1.address}`, `${block(r2.ip)}.0/24 via ${h2.address}`].sort());
  });
});

describe('the agent', () => {
  it('re-programs the kernel from the store after a restart, leaving existing endpoints as they were', async () => {
    const before = JSON.parse(ok(h1, '--json', 'sandbox', 'inspect', 'mha1')) as unknown;
    const entries = remoteFdb(h1);
    // What a connect that crashed after publishing its endpoint leaves: a document of h1 for an endpoint h1 has not got.
    const asH1 = await openEtcdStore({ endpoints: c.etcd.url, hostName: h1.name });
    const ghost = { id: 'f'.repeat(64), network: 'ov', driver: 'overlay', host: h1.name, hostAddress: h1.address, mac: '02:ff:ff:ff:ff:01', ipv4: '10.200.255.1/16', data: { vni: 4096 } };
    await asH1.transaction(async (tx) => tx.putLeased('endpoints', ghost.id, ghost));
    await asH1.close();
    await waitUntil(() => remoteFdb(h2).includes(`${ghost.mac} ${h1.address}`), 'the ghost on h2');
    c.agents.get(h1.name)!.kill('SIGKILL');
    // What a crash or an operator's flush could lose: every entry the agent made.
    const vxlan = (JSON.parse(ok(h1, '--json', 'network', 'inspect', 'ov')) as { network: { driverState: { vxlan: string } } }).network.driverState.vxlan;
    for (const e of entries) {
      const [mac, dst] = e.split(' ');
      inNs(h1.name, 'bridge', ['fdb', 'del', mac!, 'dev', vxlan, 'dst', dst!, 'self']);
    }
    expect(remoteFdb(h1)).toEqual([]);
    c.startAgent(h1);
    await waitUntil(() => remoteFdb(h1).length === entries.length, 'entries back after the restart');
    // The restarted agent removed its host's document that described nothing, and h2 its entry.
    await waitUntil(async () => (await c.store.get('endpoints', ghost.id)) === undefined, 'the ghost document to go');
    await waitUntil(() => !remoteFdb(h2).some((e) => e.startsWith(ghost.mac)), 'the ghost entry to leave h2');
    expect(remoteFdb(h1).sort()).toEqual(entries.sort());
    expect(JSON.parse(ok(h1, '--json', 'sandbox', 'inspect', 'mha1'))).toEqual(before);
    expect(ping(sandboxInfo(h1, 'mha1', 'ov').netns, sandboxInfo(h2, 'mhb1', 'ov').ip)).toBe(true);
  });

  it('with etcd away, a connect fails with a coded error and leaves nothing; once etcd is back the agents catch up', async () => {
    ok(h2, 'sandbox', 'create', 'mhb2');
    const links = linkNames(h2.name);
    await c.killEtcd();
    const r = sy(h2, 'connect', 'ov', 'mhb2');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('SWY_ERR_GLOBAL_STORE_UNAVAILABLE');
    expect(linkNames(h2.name)).toEqual(links);
    expect(linkNames('mhb2')).toEqual(['lo']);
    expect((JSON.parse(ok(h2, '--json', 'sandbox', 'inspect', 'mhb2')) as { sandbox: { endpoints: unknown[] } }).sandbox.endpoints).toEqual([]);
    await c.restartEtcd();
    ok(h2, 'connect', 'ov', 'mhb2');
    const b2 = sandboxInfo(h2, 'mhb2', 'ov');
    await waitUntil(() => remoteFdb(h1).includes(`${b2.mac} ${h2.address}`), "h1's agent programming the endpoint made after the outage");
    await waitUntil(() => ping(sandboxInfo(h1, 'mha1', 'ov').netns, b2.ip), 'traffic to it');
    // An endpoint that leaves disappears from every other host's forwarding and neighbour tables.
    ok(h2, 'disconnect', 'ov', 'mhb2');
    await waitUntil(() => !remoteFdb(h1).some((e) => e.startsWith(b2.mac)) && !remoteFdb(h3).some((e) => e.startsWith(b2.mac)), 'the endpoint to leave h1 and h3');
    expect(inNs(h1.name, 'ip', ['neigh', 'show', b2.ip]).stdout.trim()).toBe('');
  });

  it('registers its host again after being down past the lease: the endpoints come back for the other hosts', async () => {
    const c1 = sandboxInfo(h3, 'mhc1', 'ov');
    c.agents.get(h3.name)!.kill('SIGKILL');
    await waitForHost(h3.name, false);
    await waitUntil(() => !remoteFdb(h1).some((e) => e.startsWith(c1.mac)), "h3's endpoint to leave h1");
    c.startAgent(h3);
    await waitUntil(() => remoteFdb(h1).includes(`${c1.mac} ${h3.address}`), "h3's endpoint back on h1");
    await waitUntil(() => ping(sandboxInfo(h1, 'mha1', 'ov').netns, c1.ip), 'traffic to it again');
    expect(sandboxInfo(h3, 'mhc1', 'ov')).toEqual(c1);
  });

  it("returns a dead host's addresses and blocks to the pool once its lease expires, and its entries leave the other hosts", async () => {
    const c1 = sandboxInfo(h3, 'mhc1', 'ov');
    const ofH3 = async () => ({
      endpoints: (await c.store.list<{ host: string }>('endpoints')).filter((e) => e.host === h3.name).length,
      blocks: (await c.store.list<{ host: string }>('plugin:ipam-global.blocks')).filter((b) => b.host === h3.name).length,
    });
    expect((await ofH3()).endpoints).toBeGreaterThan(0);
    expect((await ofH3()).blocks).toBeGreaterThan(0);
    expect(remoteFdb(h1)).toContain(`${c1.mac} ${h3.address}`);
    // The host dies: its agent is killed and its namespace (with its sandbox) goes.
    c.agents.get(h3.name)!.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', c1.netns]);
    spawnSync('ip', ['netns', 'del', h3.name]);
    await waitForHost(h3.name, false);
    expect(await ofH3()).toEqual({ endpoints: 0, blocks: 0 });
    await waitUntil(() => !remoteFdb(h1).some((e) => e.startsWith(c1.mac)) && !remoteFdb(h2).some((e) => e.startsWith(c1.mac)), "h3's entries to leave h1 and h2");
  });
});
