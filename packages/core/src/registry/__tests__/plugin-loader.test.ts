import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LinkAddOp } from '../../spi/kernel.js';
import { SwitchyardError } from '../../errors/switchyard-error.js';
import { defineDriver } from '../plugin.js';
import { PLUGIN_CHECKS, type PluginCheckName } from '../plugin-checks.js';
import { PluginLoader } from '../plugin-loader.js';
import { parsePluginPackageName, pluginPackageName } from '../plugin-names.js';
import { codeRan, installFakePlugin, makeRegistry, makeTempApp, manifestSource, type TempApp } from './plugin-fixtures.js';

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<SwitchyardError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof SwitchyardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchyardError, nothing was thrown');
}

const loaderFor = (appDir: string, pluginDir?: string) => new PluginLoader({ appDir, ...(pluginDir === undefined ? {} : { pluginDir }) });

describe('plugin package names', () => {
  it('map a type to its package and back, scoped or not, for drivers and IPAM', () => {
    expect(pluginPackageName('driver', 'ptp')).toBe('switchyard-driver-ptp');
    expect(pluginPackageName('driver', '@acme/ptp')).toBe('@acme/switchyard-driver-ptp');
    expect(pluginPackageName('ipam', 'dhcp')).toBe('switchyard-ipam-dhcp');
    expect(parsePluginPackageName('@acme/switchyard-driver-ptp')).toEqual({ kind: 'driver', type: '@acme/ptp' });
    expect(parsePluginPackageName('switchyard-ipam-dhcp')).toEqual({ kind: 'ipam', type: 'dhcp' });
    expect(parsePluginPackageName('left-pad')).toBeUndefined();
  });
});

describe('PluginLoader', () => {
  let app: TempApp;
  beforeEach(() => {
    app = makeTempApp();
  });
  afterEach(() => app.cleanup());

  it("names its checks in the order they run, each with its own code, the registry's collision check before any import", () => {
    expect(PLUGIN_CHECKS.map((c) => [c.name, c.code])).toEqual([
      ['package-resolves', 'SWY_ERR_PLUGIN_NOT_FOUND'],
      ['location-trusted', 'SWY_ERR_PLUGIN_UNTRUSTED'],
      ['switchyard-field', 'SWY_ERR_PLUGIN_NOT_SWITCHYARD'],
      ['kind-matches', 'SWY_ERR_PLUGIN_KIND_MISMATCH'],
      ['api-version', 'SWY_ERR_DRIVER_API_MISMATCH'],
      ['core-peer', 'SWY_ERR_PLUGIN_CORE_MISMATCH'],
      ['type-free', 'SWY_ERR_DRIVER_TYPE_COLLISION'],
      ['entry-imports', 'SWY_ERR_PLUGIN_LOAD_FAILED'],
      ['manifest-shape', 'SWY_ERR_PLUGIN_BAD_SHAPE'],
      ['manifest-matches-package', 'SWY_ERR_PLUGIN_BAD_SHAPE'],
      ['capability', 'SWY_ERR_DRIVER_CAPABILITY'],
    ]);
  });

  describe('where plugin code may come from (it runs as root)', () => {
    it('refuses a package in a directory everyone can write, before any of its code runs', async () => {
      const { marker } = installFakePlugin(app.dir, { name: 'switchyard-driver-open', type: 'open' });
      chmodSync(join(app.dir, 'node_modules'), 0o777);
      const err = await rejection(loaderFor(app.dir).load('switchyard-driver-open'));
      expect(err).toMatchObject({ code: 'SWY_ERR_PLUGIN_UNTRUSTED', details: { check: 'location-trusted', reason: `${join(app.dir, 'node_modules')} is writable by everyone` } });
      expect(codeRan(marker)).toBe(false);
    });

    it('refuses a package owned by another user, before any of its code runs', async () => {
      const { dir, marker } = installFakePlugin(app.dir, { name: 'switchyard-driver-theirs', type: 'theirs' });
      chownSync(dir, 4242, 4242);
      const err = await rejection(loaderFor(app.dir).load('switchyard-driver-theirs'));
      expect(err).toMatchObject({ code: 'SWY_ERR_PLUGIN_UNTRUSTED', details: { reason: `${dir} is owned by uid 4242` } });
      expect(codeRan(marker)).toBe(false);
    });

    it('accepts a package below a sticky world-writable directory such as /tmp', async () => {
      installFakePlugin(app.dir, { name: 'switchyard-driver-tmp', type: 'tmp' });
      expect(statSync(tmpdir()).mode & 0o1002).toBe(0o1002);
      expect((await loaderFor(app.dir).load('switchyard-driver-tmp')).pkg.type).toBe('tmp');
    });

    it("looks in the plugin directory's own node_modules only, never a parent's (where anyone may have put one)", async () => {
      const parent = makeTempApp('swy-parent-');
      try {
        const plugins = join(parent.dir, 'state', 'plugins');
        mkdirSync(plugins, { recursive: true });
        const { marker } = installFakePlugin(parent.dir, { name: 'switchyard-driver-planted', type: 'planted' });
        const loader = new PluginLoader({ pluginDir: plugins });
        const err = await rejection(loader.load('switchyard-driver-planted'));
        expect(err).toMatchObject({ code: 'SWY_ERR_PLUGIN_NOT_FOUND' });
        expect(codeRan(marker)).toBe(false);
        installFakePlugin(plugins, { name: 'switchyard-driver-planted', type: 'planted' });
        expect((await loader.load('switchyard-driver-planted')).pkg.type).toBe('planted');
      } finally {
        parent.cleanup();
      }
    });
  });

  it('loads a valid package by name from the application directory', async () => {
    installFakePlugin(app.dir, { name: 'switchyard-driver-fake', type: 'fake' });

    const { pkg, manifest } = await loaderFor(app.dir).load('switchyard-driver-fake');

    expect(pkg).toMatchObject({ name: 'switchyard-driver-fake', kind: 'driver', type: 'fake', version: '1.2.3' });
    expect(manifest).toMatchObject({ kind: 'driver', type: 'fake', version: '1.2.3' });
  });

  it('falls back to the plugin directory, and prefers the application when both have the package', async () => {
    const plugins = makeTempApp('swy-plugins-');
    try {
      installFakePlugin(plugins.dir, { name: 'switchyard-driver-only-there', type: 'only-there' });
      installFakePlugin(plugins.dir, { name: 'switchyard-driver-both', type: 'both', packageJson: { version: '9.9.9' } });
      installFakePlugin(app.dir, { name: 'switchyard-driver-both', type: 'both', packageJson: { version: '1.0.0' } });
      const loader = loaderFor(app.dir, plugins.dir);

      expect(loader.inspect('switchyard-driver-only-there').dir).toBe(join(plugins.dir, 'node_modules', 'switchyard-driver-only-there'));
      expect(loader.inspect('switchyard-driver-both').version).toBe('1.0.0');
    } finally {
      plugins.cleanup();
    }
  });

  it('finds packages whose exports do not expose package.json, and imports the "import" condition of exports', async () => {
    installFakePlugin(app.dir, {
      name: 'switchyard-driver-strict',
      type: 'strict',
      packageJson: { main: null, exports: { '.': { types: './index.d.ts', require: './missing.cjs', import: './index.js' } } },
    });

    const { manifest } = await loaderFor(app.dir).load('switchyard-driver-strict');

    expect(manifest).toMatchObject({ type: 'strict' });
  });

  it('autoloads switchyard-driver-<type> on first use of the type, once, however many callers race for it', async () => {
    installFakePlugin(app.dir, { name: 'switchyard-driver-fake', type: 'fake' });
    const { registry, logged } = makeRegistry({ appDir: app.dir });

    const [a, b] = await Promise.all([registry.driver('fake'), registry.driver('fake')]);

    expect(a).toBe(b);
    expect(registry.list()).toEqual([{ kind: 'driver', type: 'fake', version: '1.2.3', origin: 'package', packageName: 'switchyard-driver-fake' }]);
    expect(logged.filter((l) => l.message.startsWith('loaded network driver plugin switchyard-driver-fake@1.2.3'))).toHaveLength(1);
  });

  it('does not autoload a package named for a type that declares another type, and runs none of its code', async () => {
    const { marker } = installFakePlugin(app.dir, { name: 'switchyard-driver-alias', type: 'something-else' });
    const { registry } = makeRegistry({ appDir: app.dir });

    const err = await rejection(registry.driver('alias'));

    expect(err.code).toBe('SWY_ERR_PLUGIN_BAD_SHAPE');
    expect(err.message).toContain('declares type "something-else", so it cannot provide "alias"');
    expect(codeRan(marker)).toBe(false);
  });

  it('refuses a name that is not an npm package name instead of resolving it as a path', async () => {
    const err = await rejection(() => loaderFor(app.dir).inspect('../../etc'));
    expect(err.code).toBe('SWY_ERR_INVALID_NAME');
  });

  /** Installs a throwaway package, loads it through a registry, and returns the error and whether the package's code ran. */
  async function failLoading(spec: Parameters<typeof installFakePlugin>[1]): Promise<{ err: SwitchyardError; ran: boolean }> {
    const { marker } = installFakePlugin(app.dir, spec);
    const { registry } = makeRegistry({ appDir: app.dir });
    const err = await rejection(registry.loadPackage(spec.name));
    return { err, ran: codeRan(marker) };
  }

  function expectCheck(err: SwitchyardError, check: PluginCheckName): void {
    expect({ code: err.code, check: err.details?.check }).toEqual({ code: PLUGIN_CHECKS.find((c) => c.name === check)?.code, check });
  }

  describe("refuses, before running any of the plugin's code,", () => {
    it('a package that is not installed: SWY_ERR_PLUGIN_NOT_FOUND, saying where it looked and what to install', async () => {
      const err = await rejection(() => loaderFor(app.dir, '/nonexistent/plugins').inspect('switchyard-driver-absent'));

      expectCheck(err, 'package-resolves');
      expect(err.message).toContain(`from ${app.dir} or /nonexistent/plugins`);
      expect(err.hint).toContain('`npm install switchyard-driver-absent`');
    });

    it('a package without a "switchyard" field: SWY_ERR_PLUGIN_NOT_SWITCHYARD', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-plain', packageJson: { switchyard: null } });
      expectCheck(err, 'switchyard-field');
      expect(ran).toBe(false);
    });

    it('an IPAM package asked for as a driver: SWY_ERR_PLUGIN_KIND_MISMATCH', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-wrongkind', type: 'wrongkind', packageJson: { switchyard: { kind: 'ipam', type: 'wrongkind', apiVersion: 1 } } });
      expectCheck(err, 'kind-matches');
      expect(err.message).toContain('is a Switchyard "ipam" plugin, not a driver plugin');
      expect(ran).toBe(false);
    });

    it('a package of another plugin API version: SWY_ERR_DRIVER_API_MISMATCH, naming both versions', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-future', type: 'future', packageJson: { switchyard: { kind: 'driver', type: 'future', apiVersion: 2 } } });
      expectCheck(err, 'api-version');
      expect(err.message).toContain('speaks plugin API 2, this core speaks 1');
      expect(err.hint).toContain('Upgrade one of them');
      expect(ran).toBe(false);
    });

    it('a package made for another major version of core: SWY_ERR_PLUGIN_CORE_MISMATCH', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-old', type: 'old', packageJson: { peerDependencies: { '@switchyard/core': '^3.0.0' } } });
      expectCheck(err, 'core-peer');
      expect(err.message).toMatch(/needs @switchyard\/core \^3\.0\.0, this core is 0\.\d+\.\d+/);
      expect(ran).toBe(false);
    });

    it('a package that does not declare core as a peer dependency: SWY_ERR_PLUGIN_CORE_MISMATCH', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-nopeer', type: 'nopeer', packageJson: { peerDependencies: null, dependencies: { '@switchyard/core': '^0.1.0' } } });
      expectCheck(err, 'core-peer');
      expect(err.message).toContain('does not declare @switchyard/core as a peer dependency');
      expect(ran).toBe(false);
    });

    it('a package whose type a registered driver already holds: SWY_ERR_DRIVER_TYPE_COLLISION', async () => {
      const { marker } = installFakePlugin(app.dir, { name: 'switchyard-driver-bridge', type: 'bridge' });
      const { registry } = makeRegistry({ appDir: app.dir });
      registry.registerDriver(defineDriver({ apiVersion: 1, type: 'bridge', version: '0.1.0', capability: { dataScope: 'local', connectivityScope: 'local' }, create: () => ({}) as never }), 'builtin');

      const err = await rejection(registry.loadPackage('switchyard-driver-bridge'));

      expectCheck(err, 'type-free');
      expect(err.message).toContain('origin: builtin');
      expect(codeRan(marker)).toBe(false);
    });
  });

  describe('from the import step on, refuses', () => {
    it('a package whose entry throws on import: SWY_ERR_PLUGIN_LOAD_FAILED with the cause', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-broken', type: 'broken', body: "throw new Error('cannot find libfoo.so');\n" });
      expectCheck(err, 'entry-imports');
      expect(err.message).toContain('cannot find libfoo.so');
      expect((err.cause as Error).message).toBe('cannot find libfoo.so');
      expect(ran).toBe(true);
    });

    it('a package published without its entry file: SWY_ERR_PLUGIN_LOAD_FAILED before importing anything', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-unbuilt', type: 'unbuilt', packageJson: { main: './dist/index.js' } });
      expectCheck(err, 'entry-imports');
      expect(err.message).toContain('its entry ./dist/index.js does not exist');
      expect(ran).toBe(false);
    });

    it('a default export that is not a manifest: SWY_ERR_PLUGIN_BAD_SHAPE listing what is wrong', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-shapeless', type: 'shapeless', body: "export default { kind: 'driver', apiVersion: 1, type: 'shapeless', version: 'latest' };\n" });
      expectCheck(err, 'manifest-shape');
      expect(err.message).toContain('`version` is not a semver version; `create` is not a function; `capability` is not an object');
      expect(ran).toBe(true);
    });

    it('a manifest whose type differs from package.json: SWY_ERR_PLUGIN_BAD_SHAPE', async () => {
      const { err, ran } = await failLoading({ name: 'switchyard-driver-twofaced', type: 'twofaced', body: manifestSource('other') });
      expectCheck(err, 'manifest-matches-package');
      expect(err.message).toContain('declares type "other" (apiVersion 1), but its package.json declares "twofaced"');
      expect(ran).toBe(true);
    });

    it('a manifest with an unknown capability scope: SWY_ERR_DRIVER_CAPABILITY', async () => {
      const { err, ran } = await failLoading({
        name: 'switchyard-driver-galactic',
        type: 'galactic',
        body: manifestSource('galactic', "capability: { dataScope: 'galaxy', connectivityScope: 'local' },"),
      });
      expectCheck(err, 'capability');
      expect(err.message).toContain('`dataScope` is "galaxy"');
      expect(ran).toBe(true);
    });
  });

  it('registers nothing when a package fails a check, so a fixed package loads afterwards', async () => {
    const { registry } = makeRegistry({ appDir: app.dir });
    const dir = installFakePlugin(app.dir, { name: 'switchyard-driver-fixed', type: 'fixed', body: manifestSource('other') }).dir;
    await rejection(registry.loadPackage('switchyard-driver-fixed'));
    expect(registry.list()).toEqual([]);

    mkdirSync(join(dir, 'v2'));
    writeFileSync(join(dir, 'v2', 'index.js'), manifestSource('fixed'));
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'switchyard-driver-fixed', version: '1.0.1', type: 'module', main: './v2/index.js', switchyard: { kind: 'driver', type: 'fixed', apiVersion: 1 }, peerDependencies: { '@switchyard/core': '^0.1.0' } }),
    );
    await registry.loadPackage('switchyard-driver-fixed');

    expect(registry.list()).toEqual([{ kind: 'driver', type: 'fixed', version: '1.2.3', origin: 'package', packageName: 'switchyard-driver-fixed' }]);
  });
});

describe('a third-party driver package, packed and installed with npm', () => {
  const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));
  const endpointId = 'c0ffee12'.padEnd(64, '0');
  const network = { id: 'n1', name: 'lab', options: {}, state: {}, internal: false, ipv4: { subnet: '10.77.0.0/24', gateway: '10.77.0.1' } };
  const endpoint = { id: endpointId, ifname: 'eth0', ipv4: '10.77.0.5/24', state: {} };
  const sandbox = { id: 's1', netns: { kind: 'named' as const, name: 'sy-lab-s1' } };
  let work: string;
  let appDir: string;

  const run = (cmd: string, args: string[], cwd: string): string => {
    try {
      return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const { stdout, stderr } = e as { stdout?: string; stderr?: string };
      throw new Error(`\`${cmd} ${args.join(' ')}\` failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`, { cause: e });
    }
  };

  // Building core, packing and installing take seconds; the ceiling is generous because nothing here is measured.
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'swy-third-party-'));
    appDir = join(work, 'app');
    mkdirSync(appDir);
    writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'embedding-app', private: true, type: 'module' }));
    // The plugin compiles against core's declarations, as it would against the published core.
    run('npx', ['tsc', '-b', 'packages/core'], repoRoot);
    // `pnpm pack` runs the package's prepack (its build) and rewrites workspace: ranges, as `pnpm publish` does.
    run('pnpm', ['pack', '--pack-destination', work], join(repoRoot, 'examples', 'switchyard-driver-ptp-lite'));
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`pnpm pack left no tarball in ${work}`);
    run('npm', ['install', '--no-audit', '--no-fund', '--legacy-peer-deps', '--offline', '--ignore-scripts', join(work, tarball)], appDir);
    // The application's own copy of core: this workspace's, so the plugin and the registry share one.
    mkdirSync(join(appDir, 'node_modules', '@switchyard'), { recursive: true });
    symlinkSync(join(repoRoot, 'packages', 'core'), join(appDir, 'node_modules', '@switchyard', 'core'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('is loaded by type from the application directory and plans a veth pair whose peer is born in the sandbox', async () => {
    const { registry } = makeRegistry({ appDir });

    const driver = await registry.driver('ptp-lite');
    const plan = await driver.join(network, endpoint, sandbox);

    const veth = plan.hostSteps.find((s): s is LinkAddOp => s.op === 'link.add' && s.kind === 'veth') as Extract<LinkAddOp, { kind: 'veth' }> | undefined;
    expect(veth).toMatchObject({ name: 'ptlc0ffee12', peer: { name: plan.srcName, netns: sandbox.netns } });
    expect(plan.hostSteps).toContainEqual({ op: 'addr.add', dev: 'ptlc0ffee12', cidr: '10.77.0.1/32' });
    expect(plan).toMatchObject({ srcInSandbox: true, gateway4: '10.77.0.1', staticRoutes: [{ dst: '10.77.0.1/32' }], noPrefixRoute: true });
    expect((await driver.leave(network, endpoint, sandbox)).hostSteps).toEqual([{ op: 'link.del', name: 'ptlc0ffee12', ifExists: true }]);
    expect(registry.list()).toEqual([{ kind: 'driver', type: 'ptp-lite', version: '0.1.0', origin: 'package', packageName: 'switchyard-driver-ptp-lite', description: expect.stringContaining('Point-to-point') }]);
  });

  it('loads the same way in a plain node process, through the installed core and a real import()', () => {
    const script = `
      import { PluginRegistry } from '@switchyard/core';
      const quiet = { debug() {}, info() {}, warn() {} };
      const registry = new PluginRegistry({}, {}, {}, quiet, { appDir: process.cwd(), stateDir: '/nonexistent', runDir: '/nonexistent', autoloadPlugins: false });
      await registry.loadPackage('switchyard-driver-ptp-lite');
      const driver = await registry.driver('ptp-lite');
      const plan = await driver.join(${JSON.stringify(network)}, ${JSON.stringify(endpoint)}, ${JSON.stringify(sandbox)});
      console.log(JSON.stringify({ list: registry.list(), plan }));`;

    const out = JSON.parse(run(process.execPath, ['--input-type=module', '-e', script], appDir)) as { list: unknown[]; plan: { hostSteps: unknown[]; srcInSandbox: boolean } };

    expect(out.list).toEqual([expect.objectContaining({ type: 'ptp-lite', origin: 'package', packageName: 'switchyard-driver-ptp-lite' })]);
    expect(out.plan.srcInSandbox).toBe(true);
    expect(out.plan.hostSteps[0]).toMatchObject({ op: 'link.add', kind: 'veth', name: 'ptlc0ffee12', peer: { netns: sandbox.netns } });
  });
});
