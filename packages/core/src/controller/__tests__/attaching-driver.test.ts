import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import { setFaultHook } from '../../util/fault-points.js';
import { SwitchyardError } from '../../errors/switchyard-error.js';
import { checkCreatedInstance } from '../../registry/manifest-checks.js';
import { attachingFixtureDriver, type AttachingControls } from './attaching-fixture-driver.js';

describe('drivers that attach endpoints themselves (attach/detach)', () => {
  let controls: AttachingControls;
  let sy: TestSwitchyard;
  beforeEach(async () => {
    controls = { calls: [] };
    sy = await createTestSwitchyard([attachingFixtureDriver(controls)]);
    await sy.controller.createNetwork({ name: 'n', driver: 'attaching' });
  });
  afterEach(async () => {
    setFaultHook(undefined);
    await sy.dispose();
  });

  it('gives their networks no pools and records the addresses, MAC and gateway attach reports', async () => {
    const network = await sy.controller.inspectNetwork('n');
    expect([network.ipamDriver, network.ipv4, network.ipv6]).toEqual(['driver', undefined, undefined]);
    const sandbox = await sy.controller.createSandbox({ name: 'a' });
    const ep = await sy.controller.connect('n', 'a', { mac: '02:00:00:00:00:07' });
    expect(ep).toMatchObject({ ipv4: '10.99.0.2/24', gateway4: '10.99.0.1', mac: '02:00:00:00:00:07', providesDefaultRoute: false, driverState: { hostEnd: `fa${ep.id.slice(0, 8)}` } });
    expect((await sy.kernel.listAddrs(sandbox.netns)).filter((a) => a.dev === 'eth0').map((a) => a.cidr)).toEqual(['10.99.0.2/24']);
    expect(sy.ipam.poolCount()).toBe(0);
  });

  it('refuses IPAM settings and an IPv6 switch on their networks before anything changes', async () => {
    await expect(sy.controller.createNetwork({ name: 'm', driver: 'attaching', ipam: { ipv4: [{ subnet: '10.5.0.0/24' }] } })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
    await expect(sy.controller.createNetwork({ name: 'm', driver: 'attaching', ipv6: true })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
    expect((await sy.controller.listNetworks()).map((n) => n.name)).toEqual(['n']);
  });

  it('passes a static address to attach, whose IPAM judges it', async () => {
    await sy.controller.createSandbox({ name: 'a' });
    await sy.controller.createSandbox({ name: 'b' });
    expect((await sy.controller.connect('n', 'a', { ipv4: '10.99.0.9' })).ipv4).toBe('10.99.0.9/24');
    await expect(sy.controller.connect('n', 'b', { ipv4: '10.99.0.9' })).rejects.toMatchObject({ code: 'SWY_ERR_ADDRESS_IN_USE' });
    expect((await sy.controller.inspectSandbox('b')).endpoints).toEqual([]);
  });

  it('detaches on disconnect, and without the sandbox when its namespace vanished', async () => {
    const ref = sy.fake.addPathNetns('/proc/4242/ns/net');
    await sy.controller.createSandbox({ name: 'a' });
    await sy.controller.createSandbox({ name: 'p', netnsPath: '/proc/4242/ns/net' });
    await sy.controller.connect('n', 'a');
    await sy.controller.connect('n', 'p');
    await sy.controller.disconnect('n', 'a');
    sy.fake.vanish(ref);
    await sy.controller.deleteSandbox('p');
    expect(controls.calls).toEqual(['attach eth0', 'attach eth0', 'detach eth0', 'detach eth0 outside']);
  });

  it('a connect that died after attach is undone on recovery by detach', async () => {
    await sy.controller.createSandbox({ name: 'a' });
    const before = sy.fake.snapshot();
    controls.failNextDetach = true;
    setFaultHook((p) => {
      if (p === 'connect:kernel-applied') throw new SwitchyardError('SWY_ERR_INTERNAL', 'died');
    });
    await expect(sy.controller.connect('n', 'a')).rejects.toMatchObject({ code: 'SWY_ERR_INTERNAL' });
    setFaultHook(undefined);
    expect(await sy.store.list('intents')).toHaveLength(1);
    expect(sy.fake.snapshot()).not.toEqual(before);
    expect(await sy.controller.recover()).toBe(1);
    expect(sy.fake.snapshot()).toEqual(before);
    expect(await sy.store.list('intents')).toEqual([]);
    expect(controls.calls).toEqual(['attach eth0', 'detach eth0', 'detach eth0']);
  });

  it('recovery of a dead connect detaches outside the sandbox when a later endpoint holds its interface name', async () => {
    const sandbox = await sy.controller.createSandbox({ name: 'a' });
    const later = await sy.controller.connect('n', 'a');
    // A connect that died before it attached, whose interface name the later endpoint took.
    await sy.store.transaction((tx) => tx.put('intents', 'dead', { kind: 'connect', id: 'dead', sandboxName: 'a', networkName: 'n', endpointId: 'd'.repeat(64), ifname: 'eth0', at: later.createdAt }));
    expect(await sy.controller.recover()).toBe(1);
    expect(controls.calls).toEqual(['attach eth0', 'detach eth0 outside']);
    expect((await sy.kernel.listAddrs(sandbox.netns)).filter((a) => a.dev === 'eth0').map((a) => a.cidr)).toEqual([later.ipv4]);
  });

  it('gc hands the live endpoints to collectEndpoints and reports what it released', async () => {
    await sy.controller.createSandbox({ name: 'a' });
    await sy.controller.createSandbox({ name: 'b' });
    await sy.controller.connect('n', 'a');
    const b = await sy.controller.connect('n', 'b');
    // The store forgets b (as after a crash between attach and a lost record): its attachment is stale.
    const record = await sy.store.get<{ endpoints: unknown[] }>('sandboxes', 'b');
    await sy.store.transaction((tx) => tx.put('sandboxes', 'b', { ...record, endpoints: [] }));
    const report = await sy.controller.gc();
    expect(report.actions.filter((a) => a.kind === 'remove-link').map((a) => [a.target, a.done])).toEqual([[`n/${b.id.slice(0, 8)}`, true]]);
    expect(controls.calls).toContain(`collect ${b.id.slice(0, 8)}`);
    expect((await sy.controller.gc({ dryRun: true })).actions).toEqual([]);
  });

  it('a driver with attach but no detach is refused when created', () => {
    const manifest = attachingFixtureDriver();
    const { detach: _dropped, ...half } = { type: 'attaching', attach: async () => ({}), detach: async () => undefined, ...methods() };
    expect(() => checkCreatedInstance(manifest, half, 'test')).toThrow(/attach and detach come together/);
  });
});

function methods() {
  const f = async () => ({});
  return { validateNetworkOptions: f, createNetwork: f, deleteNetwork: f, createEndpoint: f, deleteEndpoint: f, join: f, leave: f };
}
