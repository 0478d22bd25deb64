import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { PLUGIN_API_VERSION } from '../plugin.js';
import { PLUGIN_CHECKS } from '../plugin-checks.js';
import { PluginLoader, type PluginPackage } from '../plugin-loader.js';
import { isPluginType } from '../plugin-names.js';
import { makeRegistry, makeTempApp, type TempApp } from './plugin-fixtures.js';
import { RUNS, attempt, attemptSync, check, checkRefused, checkSame, editedJson, exoticValue, hostileString, maybe, sometimesExotic, textFor, type Json } from '../../__tests__/hostile-input.js';

/**
 * Hostile plugins: package.json files (the checks that run before any plugin code), module shapes
 * (what the entry point exports) and manifests registered as objects, with the instances their
 * create() returns. Each is accepted as a whole, well-formed plugin, or refused with its check's code;
 * a refused registration leaves the registry as it was.
 */

const DRIVER_METHODS = ['validateNetworkOptions', 'createNetwork', 'deleteNetwork', 'createEndpoint', 'deleteEndpoint', 'join', 'leave'];
const IPAM_METHODS = ['requestPool', 'releasePool', 'requestAddress', 'releaseAddress', 'releaseOwner'];
const LOADER_CODES = [...new Set<string>(PLUGIN_CHECKS.filter((c) => c.runBy === 'loader').map((c) => c.code)), 'SWY_ERR_INVALID_NAME'];
const PACKAGE = 'switchyard-driver-fuzz';

let app: TempApp;
beforeAll(() => {
  app = makeTempApp('swy-fuzz-plugins-');
  mkdirSync(join(app.dir, 'node_modules', PACKAGE), { recursive: true });
  writeFileSync(join(app.dir, 'node_modules', PACKAGE, 'index.js'), 'export default {};\n');
});
afterAll(() => app.cleanup());

const pluginType = textFor(fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/), fc.constantFrom('fuzz', '@acme/fuzz', 'bridge')), 4);
// The optional keys: hostGateway (a boolean) and defaultIpam (an IPAM name, which a network create then looks up).
const defaultIpam = sometimesExotic(
  fc.record({ driver: sometimesExotic(textFor(fc.constantFrom('global', 'host-local', '@acme/ipam'), 4)), options: maybe(sometimesExotic(fc.constant({ mode: 'blocks' }))) }, { requiredKeys: ['driver'] }),
);
const capability = fc.oneof(
  { arbitrary: fc.record({ dataScope: fc.constantFrom('local', 'global'), connectivityScope: fc.constantFrom('local', 'global') }), weight: 4 },
  {
    arbitrary: fc.record(
      { dataScope: fc.constantFrom('local', 'global'), connectivityScope: fc.constantFrom('local', 'global'), hostGateway: sometimesExotic(fc.boolean()), defaultIpam },
      { requiredKeys: ['dataScope', 'connectivityScope'] },
    ),
    weight: 2,
  },
  { arbitrary: fc.dictionary(fc.constantFrom('dataScope', 'connectivityScope', 'multicast', '__proto__'), sometimesExotic(textFor(fc.constantFrom('local', 'global')))), weight: 1 },
  { arbitrary: exoticValue, weight: 1 },
);

// ------------------------------------------------------------------ package.json

const packageJson: fc.Arbitrary<Json> = fc
  .record({
    kind: fc.constantFrom('driver', 'ipam'),
    type: fc.constantFrom('fuzz', 'fuzz.v2'),
    main: fc.constantFrom('./index.js', 'index.js', '../escape.js', '/etc/passwd', 'missing.js'),
    peer: fc.constantFrom('^0.1.0', '>=0.1.0', '^1.0.0', '*', 'not a range', '0.1.x'),
  })
  .map(({ kind, type, main, peer }) => ({ name: PACKAGE, version: '1.2.3', type: 'module', main, switchyard: { kind, type, apiVersion: 1 }, peerDependencies: { '@switchyard/core': peer } }));

const packageText = fc.oneof(
  { arbitrary: packageJson.map((p) => JSON.stringify(p)), weight: 3 },
  { arbitrary: packageJson.chain((p) => editedJson(p, ['switchyard', 'exports', 'main', 'peerDependencies', 'kind', 'type', 'apiVersion'])).map((p) => JSON.stringify(p)), weight: 5 },
  { arbitrary: fc.oneof(hostileString, fc.json({ maxDepth: 2 })), weight: 1 },
);

describe('plugin package.json', () => {
  it('a package is accepted only as a trusted Switchyard plugin of this API version, or refused with its check code', () => {
    // From a plugin directory, as the CLI loads them (its own node_modules only).
    const loader = new PluginLoader({ pluginDir: app.dir, coreVersion: '0.1.0' });
    const name = fc.oneof({ arbitrary: fc.constant(PACKAGE), weight: 9 }, { arbitrary: textFor(fc.constantFrom(PACKAGE, '@acme/switchyard-driver-fuzz', '../node_modules/' + PACKAGE)), weight: 1 });
    fc.assert(
      fc.property(packageText, name, maybe(fc.constantFrom<'driver' | 'ipam'>('driver', 'ipam')), (text, pkgName, kind) => {
        writeFileSync(join(app.dir, 'node_modules', PACKAGE, 'package.json'), text);
        const r = attemptSync(() => loader.inspect(pkgName, kind));
        if (!r.ok) return checkRefused(r, ...LOADER_CODES);
        const pkg = r.value;
        check(pkg.name === PACKAGE && (pkg.kind === 'driver' || pkg.kind === 'ipam') && (kind === undefined || pkg.kind === kind), () => `the package asked for, got ${pkg.name} (${pkg.kind})`);
        check(isPluginType(pkg.type) && pkg.apiVersion === PLUGIN_API_VERSION && typeof pkg.version === 'string', () => `a plugin type and this API version, got ${JSON.stringify(pkg.type)} ${JSON.stringify(pkg.apiVersion)}`);
      }),
      { numRuns: RUNS },
    );
  });
});

// ------------------------------------------------------------------ manifests and instances

function instanceOf(kind: 'driver' | 'ipam', key: string): Record<string, unknown> {
  const methods = Object.fromEntries((kind === 'driver' ? DRIVER_METHODS : IPAM_METHODS).map((m) => [m, async () => ({})]));
  return kind === 'driver' ? { type: key, capability: { dataScope: 'local', connectivityScope: 'local' }, ...methods } : { name: key, ...methods };
}

/** What create() returns: a whole driver, one with methods missing or not functions, another type, or not an object; or it throws. */
function createFor(kind: 'driver' | 'ipam', key: string): fc.Arbitrary<unknown> {
  const methods = kind === 'driver' ? DRIVER_METHODS : IPAM_METHODS;
  const instance = fc.oneof(
    { arbitrary: fc.constant(instanceOf(kind, key)), weight: 4 },
    { arbitrary: fc.tuple(fc.constantFrom(...methods, 'type', 'name'), exoticValue).map(([m, v]) => ({ ...instanceOf(kind, key), [m]: v })), weight: 3 },
    { arbitrary: exoticValue, weight: 1 },
  );
  return fc.oneof(
    { arbitrary: instance.map((i) => () => i), weight: 6 },
    { arbitrary: instance.map((i) => async () => i), weight: 2 },
    // A plugin may throw (or reject with) anything at all, not only Errors.
    {
      arbitrary: exoticValue.map((thrown) => async () => {
        throw thrown;
      }),
      weight: 1,
    },
    {
      arbitrary: exoticValue.map((thrown) => () => {
        throw thrown;
      }),
      weight: 1,
    },
    { arbitrary: exoticValue, weight: 1 },
  );
}

/** A manifest object: valid for its kind, or with one field of the wrong kind, type or value. */
const manifest: fc.Arbitrary<Record<string, unknown>> = fc.tuple(fc.constantFrom<'driver' | 'ipam'>('driver', 'ipam'), pluginType).chain(([kind, key]) =>
  fc.record(
    {
      kind: fc.oneof({ arbitrary: fc.constant(kind), weight: 9 }, { arbitrary: sometimesExotic(hostileString), weight: 1 }),
      apiVersion: fc.oneof({ arbitrary: fc.constant(1), weight: 9 }, { arbitrary: sometimesExotic(fc.constantFrom(0, 2, '1', 1.5)), weight: 1 }),
      [kind === 'driver' ? 'type' : 'name']: fc.oneof({ arbitrary: fc.constant(key), weight: 9 }, { arbitrary: exoticValue, weight: 1 }),
      version: fc.oneof({ arbitrary: fc.constantFrom('1.0.0', '0.1.0-rc.1', '2.3.4+build'), weight: 9 }, { arbitrary: sometimesExotic(textFor(fc.constant('1.0.0'))), weight: 2 }),
      capability: kind === 'driver' ? capability : maybe(capability),
      description: maybe(sometimesExotic(hostileString)),
      create: createFor(kind, key),
    },
    { requiredKeys: ['kind', 'apiVersion', 'version', 'create'] },
  ),
);

function checkDriverOrIpam(kind: 'driver' | 'ipam', key: string, instance: unknown): void {
  const i = instance as Record<string, unknown>;
  for (const m of kind === 'driver' ? DRIVER_METHODS : IPAM_METHODS) check(typeof i[m] === 'function', () => `method ${m}`);
  check(i[kind === 'driver' ? 'type' : 'name'] === key, 'the instance to carry the manifest key');
}

describe('plugin modules and manifests', () => {
  it("a module's default export is accepted only as a whole manifest matching its package.json, or refused with a plugin code", async () => {
    const codes = ['SWY_ERR_PLUGIN_BAD_SHAPE', 'SWY_ERR_PLUGIN_LOAD_FAILED', 'SWY_ERR_DRIVER_CAPABILITY'];
    const module = fc.oneof({ arbitrary: manifest.map((m) => ({ default: m })), weight: 8 }, { arbitrary: fc.record({ default: exoticValue }), weight: 1 }, { arbitrary: exoticValue, weight: 1 });
    await fc.assert(
      fc.asyncProperty(module, fc.boolean(), async (exported, importFails) => {
        const loader = new PluginLoader({
          appDir: app.dir,
          importer: async () => {
            if (importFails) throw exported;
            return exported;
          },
        });
        const pkg: PluginPackage = { name: PACKAGE, version: '1.2.3', kind: 'driver', type: 'fuzz', apiVersion: 1, dir: join(app.dir, 'node_modules', PACKAGE), packageJson: { main: './index.js' } };
        const r = await attempt(() => loader.importManifest(pkg));
        if (!r.ok) return checkRefused(r, ...codes);
        check(r.value.kind === 'driver' && r.value.type === 'fuzz' && r.value.apiVersion === 1 && typeof r.value.create === 'function', 'a driver manifest matching the package');
      }),
      { numRuns: RUNS },
    );
  });

  it('a manifest registers only when whole and free, its create() must return a whole driver, and a refusal leaves the registry as it was', async () => {
    const registerCodes = ['SWY_ERR_PLUGIN_BAD_SHAPE', 'SWY_ERR_DRIVER_API_MISMATCH', 'SWY_ERR_DRIVER_CAPABILITY', 'SWY_ERR_DRIVER_TYPE_COLLISION'];
    const createCodes = ['SWY_ERR_PLUGIN_BAD_SHAPE', 'SWY_ERR_PLUGIN_LOAD_FAILED'];
    await fc.assert(
      fc.asyncProperty(manifest, async (m) => {
        const { registry } = makeRegistry({ appDir: app.dir, autoloadPlugins: false });
        registry.registerDriver(manifestOf('driver', 'bridge'), 'builtin');
        const before = registry.list();
        const kind = m.kind === 'ipam' ? 'ipam' : 'driver';
        const r = attemptSync(() => (kind === 'driver' ? registry.registerDriver(m as never, 'object') : registry.registerIpam(m as never, 'object')));
        if (!r.ok) {
          checkRefused(r, ...registerCodes);
          return checkSame(registry.list(), before);
        }
        const key = (kind === 'driver' ? m.type : m.name) as string;
        check(isPluginType(key) && registry.list().length === before.length + 1, 'one more plugin, under a plugin type');
        const cap = (kind === 'driver' ? m.capability : undefined) as { hostGateway?: unknown; defaultIpam?: { driver: unknown } } | undefined;
        check(cap?.hostGateway === undefined || typeof cap.hostGateway === 'boolean', () => `hostGateway a boolean, got ${String(cap?.hostGateway)}`);
        check(cap?.defaultIpam === undefined || isPluginType(cap.defaultIpam.driver), () => `defaultIpam naming an IPAM, got ${JSON.stringify(cap?.defaultIpam)}`);
        const created = await attempt<unknown>(() => (kind === 'driver' ? registry.driver(key) : registry.ipam(key)));
        if (created.ok) checkDriverOrIpam(kind, key, created.value);
        else checkRefused(created, ...createCodes);
      }),
      { numRuns: RUNS },
    );
  });
});

function manifestOf(kind: 'driver', key: string): never {
  return { kind, apiVersion: 1, type: key, version: '1.0.0', capability: { dataScope: 'local', connectivityScope: 'local' }, create: () => instanceOf(kind, key) } as never;
}
