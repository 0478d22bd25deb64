import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_NS, stripPrefix, type JsonObject } from '@switchyard/core';
import { createLabSwitchyard, execIn, kernelSnapshot, ping, requireLab, settledSnapshot, uniqueName, type KernelSnapshot, type LabSwitchyard } from '@switchyard/core/testing';
import { createCniDriverManifest } from '../index.js';

// The Debian reference plugins (containernetworking-plugins) as Switchyard networks, in the lab namespace.
const CNI_PATH = '/usr/lib/cni';
const MASTER = uniqueName('cnim');
const MASTER_PEER = `${MASTER}p`;

describe('driver-cni with the reference plugins on the real kernel (lab namespace)', () => {
  let sy: LabSwitchyard;
  let dir: string;
  let before: KernelSnapshot;
  let disposed = false;

  beforeAll(async () => {
    requireLab();
    await execIn(HOST_NS, ['ip', 'link', 'add', MASTER, 'type', 'veth', 'peer', 'name', MASTER_PEER]);
    await execIn(HOST_NS, ['ip', 'link', 'set', MASTER, 'up']);
    await execIn(HOST_NS, ['ip', 'link', 'set', MASTER_PEER, 'up']);
  });

  afterAll(async () => {
    if (process.env.SWITCHYARD_LAB === '1') await execIn(HOST_NS, ['ip', 'link', 'del', MASTER], { allowFailure: true });
  });

  beforeEach(async () => {
    before = await kernelSnapshot('all');
    disposed = false;
    dir = mkdtempSync(join(tmpdir(), 'swy-cni-'));
    sy = await createLabSwitchyard({ drivers: [createCniDriverManifest({ cniPath: CNI_PATH, cacheDir: join(dir, 'cache') })], durable: false });
  });

  afterEach(async () => {
    // Whatever a failed test left (a passing one has cleaned up already).
    if (!disposed) await sy.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Removes the test's sandboxes and networks: the lab must then be as it was before the test. */
  async function expectNothingLeft(): Promise<void> {
    disposed = true;
    await sy.dispose();
    expect(await settledSnapshot(before, 'all')).toEqual(before);
  }

  const hostLocal = (subnet: string): JsonObject => ({ type: 'host-local', subnet, dataDir: join(dir, 'ipam') });

  /** Two sandboxes on one network, each pinging the other; returns their addresses. */
  async function pingPair(network: string): Promise<{ a: string; b: string }> {
    const na = `${network}-a`;
    const nb = `${network}-b`;
    const sa = await sy.controller.createSandbox({ name: na });
    const sb = await sy.controller.createSandbox({ name: nb });
    const a = await sy.controller.connect(network, na);
    const b = await sy.controller.connect(network, nb);
    expect(await ping(sa.netns, stripPrefix(b.ipv4 ?? ''))).toBe(true);
    expect(await ping(sb.netns, stripPrefix(a.ipv4 ?? ''))).toBe(true);
    return { a: a.ipv4 ?? '', b: b.ipv4 ?? '' };
  }

  /** The address files host-local keeps for a CNI network (lock and last_reserved_ip excepted). */
  function addressFiles(cniName: string): string[] {
    const d = join(dir, 'ipam', cniName);
    return existsSync(d) ? readdirSync(d).filter((f) => f !== 'lock' && !f.startsWith('last_reserved_ip')) : [];
  }

  it('bridge with host-local: two sandboxes ping each other; disconnect leaves no link or address file behind', async () => {
    const bridge = uniqueName('cnibr');
    await sy.controller.createNetwork({
      name: 'cbr',
      driver: 'cni',
      options: { config: { cniVersion: '1.0.0', name: 'cbr', type: 'bridge', bridge, isGateway: true, ipam: hostLocal('10.81.0.0/24') } },
    });
    const { a, b } = await pingPair('cbr');
    expect([a, b].every((x) => x.startsWith('10.81.0.'))).toBe(true);
    expect(addressFiles('cbr').sort()).toEqual([stripPrefix(a), stripPrefix(b)].sort());
    const sandbox = await sy.controller.inspectSandbox('cbr-a');
    await sy.controller.disconnect('cbr', 'cbr-a');
    expect((await sy.kernel.listLinks(sandbox.netns)).map((l) => l.name)).toEqual(['lo']);
    expect(addressFiles('cbr')).toEqual([stripPrefix(b)]);
    await sy.controller.disconnect('cbr', 'cbr-b');
    expect(addressFiles('cbr')).toEqual([]);
    // Only the bridge is left on the host (the plugin never removes it); network rm takes it.
    expect((await sy.kernel.listLinks(HOST_NS)).filter((l) => l.master === bridge)).toEqual([]);
    await sy.controller.deleteNetwork('cbr');
    expect((await sy.kernel.listLinks(HOST_NS)).some((l) => l.name === bridge)).toBe(false);
    await expectNothingLeft();
  });

  it('ptp with host-local: two sandboxes ping each other through the host; disconnect removes the host veth ends', async () => {
    await sy.controller.createNetwork({ name: 'cptp', driver: 'cni', options: { config: { cniVersion: '1.0.0', name: 'cptp', plugins: [{ type: 'ptp', ipam: hostLocal('10.82.0.0/24') }] } } });
    // ptp routes through the host: the lab namespace forwards (it is the lab's own, never the machine's).
    await execIn(HOST_NS, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    const hostLinks = async () => (await sy.kernel.listLinks(HOST_NS)).map((l) => l.name).sort();
    const linksBefore = await hostLinks();
    await pingPair('cptp');
    expect((await hostLinks()).length).toBe(linksBefore.length + 2);
    await sy.controller.disconnect('cptp', 'cptp-a');
    await sy.controller.disconnect('cptp', 'cptp-b');
    expect(await hostLinks()).toEqual(linksBefore);
    expect(addressFiles('cptp')).toEqual([]);
    await expectNothingLeft();
  });

  it('macvlan on a veth master the test made: two sandboxes ping each other', async () => {
    await sy.controller.createNetwork({ name: 'cmv', driver: 'cni', options: { config: { cniVersion: '1.0.0', name: 'cmv', type: 'macvlan', master: MASTER, mode: 'bridge', ipam: hostLocal('10.83.0.0/24') } } });
    await pingPair('cmv');
    const sandbox = await sy.controller.inspectSandbox('cmv-a');
    expect((await sy.kernel.listLinks(sandbox.netns)).find((l) => l.name === 'eth0')?.kind).toBe('macvlan');
    await sy.controller.disconnect('cmv', 'cmv-a');
    expect((await sy.kernel.listLinks(sandbox.netns)).map((l) => l.name)).toEqual(['lo']);
    await expectNothingLeft();
  });

  it('a chain whose second plugin fails leaves nothing: DEL of the chain ran', async () => {
    const bridge = uniqueName('cnibr');
    await sy.controller.createNetwork({
      name: 'cfail',
      driver: 'cni',
      options: {
        config: {
          cniVersion: '1.0.0',
          name: 'cfail',
          plugins: [
            { type: 'bridge', bridge, isGateway: true, ipam: hostLocal('10.84.0.0/24') },
            // tuning refuses a sysctl outside net.*: the ADD fails after bridge made the veth and took an address.
            { type: 'tuning', sysctl: { 'kernel.hostname': 'x' } },
          ],
        },
      },
    });
    const sandbox = await sy.controller.createSandbox({ name: 'cfail-a' });
    const err = await sy.controller.connect('cfail', 'cfail-a').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SWY_ERR_CNI_PLUGIN_FAILED', details: { plugin: 'tuning', command: 'ADD' } });
    expect((await sy.kernel.listLinks(sandbox.netns)).map((l) => l.name)).toEqual(['lo']);
    expect((await sy.kernel.listLinks(HOST_NS)).filter((l) => l.master === bridge)).toEqual([]);
    expect(addressFiles('cfail')).toEqual([]);
    expect((await sy.controller.inspectSandbox('cfail-a')).endpoints).toEqual([]);
    await expectNothingLeft();
  });

  it('a connect that died after ADD is undone by recovery: DEL of the chain removes the link and the address file', async () => {
    const bridge = uniqueName('cnibr');
    const network = await sy.controller.createNetwork({
      name: 'crec',
      driver: 'cni',
      options: { config: { cniVersion: '1.0.0', name: 'crec', type: 'bridge', bridge, isGateway: true, ipam: hostLocal('10.87.0.0/24') } },
    });
    const sandbox = await sy.controller.createSandbox({ name: 'crec-a' });
    // What a process that died between ADD and its commit leaves: the intent record, and the plugins' work.
    const endpointId = 'c'.repeat(64);
    await sy.store.transaction((tx) => tx.put('intents', 'dead', { kind: 'connect', id: 'dead', sandboxName: 'crec-a', networkName: 'crec', endpointId, ifname: 'eth0', at: network.createdAt }));
    const driver = await sy.registry.driver('cni');
    const got = await driver.attach?.(
      { id: network.id, name: 'crec', options: network.options, state: network.driverState, internal: false },
      { id: endpointId, ifname: 'eth0', state: {} },
      { id: sandbox.id, netns: sandbox.netns },
      {},
    );
    expect(got?.ipv4).toMatch(/^10\.87\.0\.\d+\/24$/);
    expect(addressFiles('crec')).toHaveLength(1);
    expect(await sy.controller.recover()).toBe(1);
    expect((await sy.kernel.listLinks(sandbox.netns)).map((l) => l.name)).toEqual(['lo']);
    expect(addressFiles('crec')).toEqual([]);
    expect(await sy.store.list('intents')).toEqual([]);
    await expectNothingLeft();
  });

  it('refuses a config version a plugin does not speak when the network is created', async () => {
    const err = await sy.controller.createNetwork({ name: 'cver', driver: 'cni', options: { config: { cniVersion: '1.1.0', name: 'cver', type: 'bridge', ipam: hostLocal('10.85.0.0/24') } } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SWY_ERR_CNI_VERSION_UNSUPPORTED' });
    expect((err as Error).message).toContain('"bridge"');
    expect(await sy.controller.listNetworks()).toEqual([]);
    await expectNothingLeft();
  });
});
