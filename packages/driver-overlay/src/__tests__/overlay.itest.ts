import { randomBytes } from 'node:crypto';
import { HOST_NS, MemoryStore, NetlinkExecutor, type DriverEndpoint, type DriverNetwork, type KernelOp, type NetnsRef } from '@switchyard/core';
import { MemoryCluster, execIn, kernelSnapshot, ping, requireLab, settledSnapshot, uniqueName, type KernelSnapshot } from '@switchyard/core/testing';
import { OverlayDriver, overlayBridgeName } from '../index.js';

// Real-kernel test, run via scripts/lab.sh: two "hosts" (the lab namespace and a named namespace) joined by
// an underlay veth, an overlay network planned by the driver on each, a sandbox on each; the test plays each
// host's agent (one forwarding and one neighbour entry per remote endpoint) and the sandboxes ping each other
// through the VXLAN tunnel.

const kernel = new NetlinkExecutor();
const U = uniqueName('ovu'); // the underlay veth: U in the lab namespace, its peer in host B
const created: string[] = [];
let before: KernelSnapshot;

async function namespace(prefix: string): Promise<NetnsRef & { kind: 'named' }> {
  const name = uniqueName(prefix);
  await kernel.createNetns(name);
  created.push(name);
  return { kind: 'named', name };
}

async function apply(ns: NetnsRef, ops: readonly KernelOp[]): Promise<void> {
  await kernel.apply(ops.map((op) => ({ ns, op })));
}

/** One JSON object of `ip -d -j link show dev NAME` in a namespace. */
async function details(ns: NetnsRef, name: string): Promise<Record<string, any>> {
  return (JSON.parse((await execIn(ns, ['ip', '-d', '-j', 'link', 'show', 'dev', name])).stdout) as Array<Record<string, any>>)[0] ?? {};
}

beforeAll(async () => {
  requireLab();
  before = await kernelSnapshot();
});

afterAll(async () => {
  for (const name of created) await kernel.deleteNetns(name);
  kernel.close();
});

describe('overlay driver on the real kernel', () => {
  it("creates the VXLAN link as planned (VNI, port, nolearning, proxy, this host's address, a port of the bridge, the underlay's MTU less 50), and sandboxes on two hosts reach each other through it", async () => {
    const cluster = new MemoryCluster();
    cluster.join('hA', '10.200.0.1');
    cluster.join('hB', '10.200.0.2');
    const hostB = await namespace('ovh');
    const [sandboxA, sandboxB] = [await namespace('ovs'), await namespace('ovs')];
    const subnet = { subnet: '10.201.0.0/24', gateway: '10.201.0.1' };
    // Host A is the lab namespace, where the driver reads the underlay link's MTU; host B gets the same MTU as an option.
    const driverA = new OverlayDriver(kernel, new MemoryStore(), cluster.storeFor('hA'));
    const driverB = new OverlayDriver(kernel, new MemoryStore(), cluster.storeFor('hB'));
    const network = (options: object): DriverNetwork => ({ id: randomBytes(32).toString('hex'), name: 'ov', options: driverA.validateNetworkOptions(options as never), state: {}, internal: false, ipv4: subnet });
    const netA = network({});
    const netB = network({ mtu: 8950 });
    try {
      await apply(HOST_NS, [
        { op: 'link.add', kind: 'veth', name: U, mtu: 9000, peer: { name: 'eth0', netns: hostB, mtu: 9000 } },
        { op: 'addr.add', dev: U, cidr: '10.200.0.1/24' },
        { op: 'link.set', name: U, up: true },
      ]);
      await apply(hostB, [
        { op: 'addr.add', dev: 'eth0', cidr: '10.200.0.2/24' },
        { op: 'link.set', name: 'eth0', up: true },
      ]);

      const planA = await driverA.createNetwork(netA);
      const planB = await driverB.createNetwork(netB);
      await apply(HOST_NS, planA.steps);
      await apply(hostB, planB.steps);
      const stateA = { ...netA, state: planA.state ?? {} };
      const stateB = { ...netB, state: planB.state ?? {} };
      expect([planA.state?.vni, planB.state?.vni]).toEqual([4096, 4096]);

      const vx = await details(HOST_NS, 'vx-4096');
      expect({ kind: vx.linkinfo?.info_kind, master: vx.master, mtu: vx.mtu, up: (vx.flags as string[]).includes('UP') }).toEqual({ kind: 'vxlan', master: planA.state?.bridge, mtu: 8950, up: true });
      const data = vx.linkinfo?.info_data as Record<string, unknown>;
      expect({ id: data.id, port: data.port, learning: data.learning, proxy: data.proxy, local: data.local }).toEqual({ id: 4096, port: 4789, learning: false, proxy: true, local: '10.200.0.1' });
      expect((await details(HOST_NS, planA.state?.bridge as string)).mtu).toBe(8950);
      expect((await details(hostB, 'vx-4096')).linkinfo?.info_data).toMatchObject({ id: 4096, local: '10.200.0.2', learning: false, proxy: true });

      // Each host: an endpoint (its MAC chosen by the driver), joined to the host's sandbox, plumbed as core would.
      const endpoints: DriverEndpoint[] = [];
      for (const [driver, net, ns, sandbox, ip] of [
        [driverA, stateA, HOST_NS, sandboxA, '10.201.0.10/24'],
        [driverB, stateB, hostB, sandboxB, '10.201.0.11/24'],
      ] as const) {
        const endpoint: DriverEndpoint = { id: randomBytes(32).toString('hex'), ifname: 'eth0', ipv4: ip, state: {} };
        const mac = (await driver.createEndpoint(net, endpoint)).mac as string;
        const join = await driver.join(net, { ...endpoint, mac }, { id: endpoint.id, netns: sandbox });
        expect(join.mtu).toBe(8950);
        await apply(ns, join.hostSteps);
        await apply(sandbox, [
          { op: 'link.set', name: 'eth0', mac, mtu: join.mtu as number },
          { op: 'addr.add', dev: 'eth0', cidr: ip },
          { op: 'link.set', name: 'eth0', up: true },
          { op: 'route.add', dst: 'default', via: join.gateway4 as string },
        ]);
        endpoints.push({ ...endpoint, mac });
      }
      // What each host's agent does with the other's endpoint document: where the MAC lives, and its ARP answer.
      const docs = await cluster.storeFor('hA').list<{ id: string; mac: string; ipv4: string; hostAddress: string }>('endpoints');
      expect(docs.map((d) => d.hostAddress).sort()).toEqual(['10.200.0.1', '10.200.0.2']);
      for (const [ns, remote] of [
        [HOST_NS, docs.find((d) => d.hostAddress === '10.200.0.2')],
        [hostB, docs.find((d) => d.hostAddress === '10.200.0.1')],
      ] as const) {
        if (!remote) throw new Error('endpoint document missing');
        await execIn(ns, ['bridge', 'fdb', 'append', remote.mac, 'dev', 'vx-4096', 'dst', remote.hostAddress, 'self', 'permanent']);
        await execIn(ns, ['ip', 'neigh', 'replace', remote.ipv4.split('/')[0] as string, 'lladdr', remote.mac, 'dev', 'vx-4096', 'nud', 'permanent']);
      }
      // No all-zero entry: nothing is flooded to other hosts.
      expect((await execIn(HOST_NS, ['bridge', 'fdb', 'show', 'dev', 'vx-4096'])).stdout).not.toMatch(/00:00:00:00:00:00/);

      expect(await ping(sandboxA, '10.201.0.1')).toBe(true); // the gateway, answered by host A's bridge
      expect(await ping(sandboxA, '10.201.0.11')).toBe(true); // across the tunnel
      expect(await ping(sandboxB, '10.201.0.10')).toBe(true);

      for (const [driver, net, endpoint] of [
        [driverA, stateA, endpoints[0]],
        [driverB, stateB, endpoints[1]],
      ] as const) {
        if (endpoint) await driver.deleteEndpoint(net, endpoint);
      }
      expect(await cluster.storeFor('hA').list('endpoints')).toEqual([]);
      await kernel.deleteNetns(sandboxA.name);
      await apply(HOST_NS, (await driverA.deleteNetwork(stateA)).steps);
      await apply(hostB, (await driverB.deleteNetwork(stateB)).steps);
      expect(await cluster.storeFor('hA').get('networks', 'ov')).toBeUndefined();
    } finally {
      await execIn(HOST_NS, ['ip', 'link', 'del', U], { allowFailure: true });
      for (const name of ['vx-4096', overlayBridgeName(netA.id)]) await execIn(HOST_NS, ['ip', 'link', 'del', name], { allowFailure: true });
    }
    for (const name of created.splice(0)) await kernel.deleteNetns(name);
    expect(await settledSnapshot(before)).toEqual(before);
  });
});
