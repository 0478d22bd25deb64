import { rootContainer } from '../../di/decorators.js';
import type { ResolvedOptions } from '../../di/options.js';
import { TOKENS } from '../../di/tokens.js';
import { SwitchyardError } from '../../errors/switchyard-error.js';
import type { IpamDriver } from '../../spi/ipam-driver.js';
import type { NetworkDriver } from '../../spi/network-driver.js';
import { defineDriver, defineIpam, type DriverManifest, type PluginDeps } from '../plugin.js';
import { PluginRegistry } from '../plugin-registry.js';
import { codeRan, installFakePlugin, makeRegistry, makeTempApp, type TempApp } from './plugin-fixtures.js';

function fakeDriver(type: string): NetworkDriver {
  return {
    type,
    capability: { dataScope: 'local', connectivityScope: 'local' },
    validateNetworkOptions: (o) => o,
    createNetwork: async () => ({ steps: [] }),
    deleteNetwork: async () => ({ steps: [] }),
    createEndpoint: async () => ({}),
    deleteEndpoint: async () => {},
    join: async () => ({ hostSteps: [], srcName: 'x', srcInSandbox: false }),
    leave: async () => ({ hostSteps: [] }),
  };
}

/** A driver manifest that counts how often `create` ran and remembers the deps it got. */
function countingDriver(type: string, make: (deps: PluginDeps) => unknown = () => fakeDriver(type)) {
  const seen: PluginDeps[] = [];
  const manifest = defineDriver({
    apiVersion: 1,
    type,
    version: '1.0.0',
    capability: { dataScope: 'local', connectivityScope: 'local' },
    create: async (deps) => {
      seen.push(deps);
      return make(deps) as NetworkDriver;
    },
  });
  return { manifest, seen };
}

const fakeIpam = (name: string): IpamDriver => ({
  name,
  requestPool: async () => ({ poolId: 'p', subnet: '10.0.0.0/24' }),
  releasePool: async () => {},
  requestAddress: async () => ({ address: '10.0.0.2/24' }),
  releaseAddress: async () => {},
  releaseOwner: async () => {},
});

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<SwitchyardError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof SwitchyardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchyardError, nothing was thrown');
}

let app: TempApp;
beforeEach(() => {
  app = makeTempApp();
});
afterEach(() => app.cleanup());

describe('PluginRegistry', () => {
  it('lists a built-in driver with its origin and version, without creating it', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    const bridge = countingDriver('bridge');
    registry.registerDriver({ ...bridge.manifest, description: 'Linux bridge' }, 'builtin');

    expect(registry.list()).toEqual([{ kind: 'driver', type: 'bridge', version: '1.0.0', origin: 'builtin', description: 'Linux bridge' }]);
    expect(bridge.seen).toHaveLength(0);
  });

  it('refuses a second driver of the same type with SWY_ERR_DRIVER_TYPE_COLLISION naming who holds it', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    registry.registerDriver(countingDriver('bridge').manifest, 'builtin');

    const err = await rejection(() => registry.registerDriver(countingDriver('bridge').manifest, 'object'));

    expect(err.code).toBe('SWY_ERR_DRIVER_TYPE_COLLISION');
    expect(err.message).toContain('origin: builtin');
    expect(registry.list()).toHaveLength(1);
  });

  it('creates a driver once, on first use, and concurrent first callers share it', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    const veth = countingDriver('veth');
    registry.registerDriver(veth.manifest, 'builtin');

    const [a, b] = await Promise.all([registry.driver('veth'), registry.driver('veth')]);
    const c = await registry.driver('veth');

    expect(veth.seen).toHaveLength(1);
    expect(a).toBe(b);
    expect(a).toBe(c);
    expect(a.type).toBe('veth');
  });

  it('hands create() the ports, a per-plugin state directory and a logger that tags the plugin', async () => {
    const { registry, ports, logged } = makeRegistry({ appDir: app.dir, stateDir: '/srv/sy' });
    const veth = countingDriver('veth', (deps) => {
      deps.logger.info('hello', { n: 1 });
      return fakeDriver('veth');
    });
    registry.registerDriver(veth.manifest, 'builtin');

    await registry.driver('veth');

    const deps = veth.seen[0];
    expect(deps?.kernel).toBe(ports.kernel);
    expect(deps?.firewall).toBe(ports.firewall);
    expect(deps?.store).toBe(ports.store);
    expect(deps?.stateDir).toBe('/srv/sy/drivers/veth');
    expect(logged).toContainEqual({ level: 'info', message: 'hello', fields: { plugin: 'driver:veth', n: 1 } });
  });

  it('answers an unknown type with SWY_ERR_DRIVER_NOT_FOUND whose hint is the npm install line and the registered types', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    registry.registerDriver(countingDriver('bridge').manifest, 'builtin');
    registry.registerDriver(countingDriver('veth').manifest, 'builtin');

    const err = await rejection(registry.driver('wireguard'));

    expect(err.code).toBe('SWY_ERR_DRIVER_NOT_FOUND');
    expect(err.hint).toContain('`npm install switchyard-driver-wireguard`');
    expect(err.hint).toContain('bridge, veth');
    expect(err.message).toContain('registered: bridge, veth');
  });

  it('names the scoped package for a scoped type and the switchyard-ipam package for an unknown IPAM', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });

    const scoped = await rejection(registry.driver('@acme/ptp'));
    const ipam = await rejection(registry.ipam('dhcp'));

    expect(scoped.hint).toContain('`npm install @acme/switchyard-driver-ptp`');
    expect(ipam.code).toBe('SWY_ERR_DRIVER_NOT_FOUND');
    expect(ipam.hint).toContain('`npm install switchyard-ipam-dhcp`');
  });

  it('does not look at installed packages when plugin autoload is off', async () => {
    const { registry } = makeRegistry({ appDir: app.dir, autoloadPlugins: false });
    const { marker } = installFakePlugin(app.dir, { name: 'switchyard-driver-fake', type: 'fake' });

    const err = await rejection(registry.driver('fake'));

    expect(err.code).toBe('SWY_ERR_DRIVER_NOT_FOUND');
    expect(err.message).toContain('plugin autoload is off');
    expect(codeRan(marker)).toBe(false);
  });

  it('uses driver and IPAM objects the embedder passes directly', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    const mine = countingDriver('my-overlay');
    registry.registerDriver(mine.manifest, 'object');
    registry.registerIpam(defineIpam({ apiVersion: 1, name: 'static', version: '2.0.0', create: () => fakeIpam('static') }), 'object');

    expect((await registry.driver('my-overlay')).type).toBe('my-overlay');
    expect((await registry.ipam('static')).name).toBe('static');
    expect(registry.list().map((p) => [p.kind, p.type, p.origin])).toEqual([
      ['driver', 'my-overlay', 'object'],
      ['ipam', 'static', 'object'],
    ]);
  });

  it('refuses manifests of another plugin API version, with a bad capability or without create()', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    const base = countingDriver('odd').manifest;

    const api = await rejection(() => registry.registerDriver({ ...base, apiVersion: 2 }, 'object'));
    const cap = await rejection(() => registry.registerDriver({ ...base, capability: { dataScope: 'planet', connectivityScope: 'local' } } as unknown as DriverManifest, 'object'));
    const shape = await rejection(() => registry.registerDriver({ ...base, create: undefined } as unknown as DriverManifest, 'object'));

    expect([api.code, cap.code, shape.code]).toEqual(['SWY_ERR_DRIVER_API_MISMATCH', 'SWY_ERR_DRIVER_CAPABILITY', 'SWY_ERR_PLUGIN_BAD_SHAPE']);
    expect(api.message).toContain('speaks plugin API 2, this core speaks 1');
    expect(shape.message).toContain('`create` is not a function');
    expect(registry.list()).toEqual([]);
  });

  it('refuses a created driver that lacks methods or claims another type, with SWY_ERR_PLUGIN_BAD_SHAPE', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    registry.registerDriver(countingDriver('half', () => ({ type: 'half', join: async () => ({}) })).manifest, 'object');
    registry.registerDriver(countingDriver('liar', () => fakeDriver('bridge')).manifest, 'object');

    const half = await rejection(registry.driver('half'));
    const liar = await rejection(registry.driver('liar'));

    expect(half.code).toBe('SWY_ERR_PLUGIN_BAD_SHAPE');
    expect(half.message).toContain('missing method(s) validateNetworkOptions, createNetwork');
    expect(liar.code).toBe('SWY_ERR_PLUGIN_BAD_SHAPE');
    expect(liar.message).toContain('"bridge"');
  });

  it('retries create() on the next use after it failed, instead of caching the failure', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    let attempts = 0;
    const flaky = countingDriver('flaky', () => {
      attempts += 1;
      if (attempts === 1) throw new Error('module not ready');
      return fakeDriver('flaky');
    });
    registry.registerDriver(flaky.manifest, 'object');

    const first = await rejection(registry.driver('flaky'));
    const second = await registry.driver('flaky');

    expect(first.code).toBe('SWY_ERR_PLUGIN_LOAD_FAILED');
    expect((first.cause as Error).message).toBe('module not ready');
    expect(second.type).toBe('flaky');
  });

  it('is built by a DI container from the ports registered under their tokens', async () => {
    const c = rootContainer.createChildContainer();
    const options: ResolvedOptions = { stateDir: '/srv/sy', runDir: '/srv/sy/run', appDir: app.dir, autoloadPlugins: false, hostPortRange: [49152, 65535] };
    c.register(TOKENS.Options, { useValue: options });
    c.register(TOKENS.Logger, { useValue: { debug() {}, info() {}, warn() {} } });
    c.register(TOKENS.Kernel, { useValue: { name: 'k' } });
    c.register(TOKENS.Firewall, { useValue: { name: 'f' } });
    c.register(TOKENS.StateStore, { useValue: { name: 's' } });
    const veth = countingDriver('veth');

    const registry = c.resolve(PluginRegistry);
    registry.registerDriver(veth.manifest, 'builtin');
    await registry.driver('veth');

    expect(veth.seen[0]?.kernel).toEqual({ name: 'k' });
    expect(veth.seen[0]?.stateDir).toBe('/srv/sy/drivers/veth');
  });
});
