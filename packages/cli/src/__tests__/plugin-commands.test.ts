import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriverManifest } from '@switchyard/core';
import type { DoctorProbes } from '../doctor/probes.js';
import { parseInstallSpec } from '../commands/plugin.js';
import type { NpmResult, NpmRunner } from '../plugins/plugin-dir.js';
import { harness, tableRows, type Harness } from './harness.js';

/** A plugin package directory as an author would have it: package.json and a plain-JS entry. */
function writePlugin(root: string, name: string, type: string, over: { packageJson?: Record<string, unknown>; body?: string } = {}): string {
  const dir = join(root, name.replace('/', '+'));
  mkdirSync(dir, { recursive: true });
  const packageJson = {
    name,
    version: '1.2.3',
    description: `the ${type} test driver`,
    type: 'module',
    main: './index.js',
    switchyard: { kind: 'driver', type, apiVersion: 1 },
    peerDependencies: { '@switchyard/core': '^0.1.0' },
    ...over.packageJson,
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(packageJson));
  const methods = ['validateNetworkOptions', 'createNetwork', 'deleteNetwork', 'createEndpoint', 'deleteEndpoint', 'join', 'leave'].map((m) => `${m}: async () => ({ steps: [], hostSteps: [] })`).join(', ');
  const cap = "{ dataScope: 'local', connectivityScope: 'local' }";
  writeFileSync(
    join(dir, 'index.js'),
    over.body ??
      `export default { kind: 'driver', apiVersion: 1, type: ${JSON.stringify(type)}, version: '1.2.3', description: 'toy manifest', capability: ${cap}, create: () => ({ type: ${JSON.stringify(type)}, capability: ${cap}, ${methods} }) };\n`,
  );
  return dir;
}

/**
 * npm as far as the plugin directory is concerned: `install SPEC` copies a package directory (a
 * registry name is looked up in `registry`) into node_modules and lists it in package.json;
 * `install` alone prunes what package.json does not list; `uninstall NAME` removes it.
 */
function fakeNpm(registry: Record<string, string>): { run: NpmRunner; calls: string[][] } {
  const calls: string[][] = [];
  const ok: NpmResult = { exitCode: 0, stdout: '', stderr: '' };
  const run: NpmRunner = async (args) => {
    calls.push(args);
    const prefix = args[args.indexOf('--prefix') + 1] as string;
    const positional = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--prefix' && args[i - 1] !== '--registry').slice(1);
    const pkgPath = join(prefix, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { dependencies: Record<string, string> };
    const save = () => writeFileSync(pkgPath, JSON.stringify(pkg));
    if (args[0] === 'uninstall') {
      for (const name of positional) {
        delete pkg.dependencies[name];
        rmSync(join(prefix, 'node_modules', name), { recursive: true, force: true });
      }
      save();
      return ok;
    }
    const spec = positional[0];
    if (spec === undefined) {
      for (const name of readdirSync(join(prefix, 'node_modules'))) {
        if (name !== '@switchyard' && !(name in pkg.dependencies)) rmSync(join(prefix, 'node_modules', name), { recursive: true, force: true });
      }
      return ok;
    }
    const source = spec.startsWith('/') ? spec : registry[spec.replace(/(.)@.*$/, '$1')];
    if (source === undefined) return { exitCode: 1, stdout: '', stderr: `npm error code E404\nnpm error 404 Not Found - GET https://registry.example/${spec}` };
    const name = (JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { name: string }).name;
    cpSync(source, join(prefix, 'node_modules', name), { recursive: true });
    pkg.dependencies[name] = spec;
    save();
    return ok;
  };
  return { run, calls };
}

describe('switchyard plugin', () => {
  let h: Harness;
  let work: string;
  let npm: ReturnType<typeof fakeNpm>;
  let coreDir: string;
  let toy: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'swy-plugin-test-'));
    coreDir = join(work, 'host-core');
    mkdirSync(coreDir);
    writeFileSync(join(coreDir, 'package.json'), JSON.stringify({ name: '@switchyard/core', version: '0.1.0' }));
    toy = writePlugin(work, 'switchyard-driver-toy', 'toy');
    npm = fakeNpm({ 'switchyard-driver-toy': toy });
    h = harness({ npm: npm.run, coreDir: () => coreDir });
  });
  afterEach(() => {
    h.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  const pluginDir = () => join(h.stateDir, 'plugins');

  test('install DIR puts the package into <state-dir>/plugins, a private npm project whose core is the host one', async () => {
    const r = await h.run('plugin', 'install', toy);
    expect(r.stderr).toContain('installing');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('installed switchyard-driver-toy 1.2.3: network driver "toy", plugin API 1');
    expect(r.stdout).toContain(`in ${pluginDir()}`);
    expect(statSync(pluginDir()).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(join(pluginDir(), 'package.json'), 'utf8')).dependencies).toEqual({ 'switchyard-driver-toy': toy });
    const link = join(pluginDir(), 'node_modules', '@switchyard', 'core');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(coreDir);
    // npm is told to leave peers out (core is linked instead), to skip dev dependencies, and to copy a directory rather than link it.
    expect(npm.calls[0]).toEqual(['install', '--no-audit', '--no-fund', '--omit=dev', '--legacy-peer-deps', '--install-links', toy, '--prefix', pluginDir()]);
  });

  test('install NAME@RANGE passes --registry, from the flag or from npm_config_registry', async () => {
    expect((await h.run('plugin', 'install', 'switchyard-driver-toy@^1.2.0', '--registry', 'http://127.0.0.1:4873', '--json')).code).toBe(0);
    expect(npm.calls[0]).toEqual(['install', '--no-audit', '--no-fund', '--omit=dev', '--legacy-peer-deps', '--registry', 'http://127.0.0.1:4873', 'switchyard-driver-toy@^1.2.0', '--prefix', pluginDir()]);
    const env = { npm_config_registry: 'http://127.0.0.1:9999' };
    const withEnv = harness({ npm: npm.run, coreDir: () => coreDir });
    try {
      // The harness sets its own env; run through runCli with the registry variable added.
      const { runCli } = await import('../main.js');
      let out = '';
      const code = await runCli(
        ['plugin', 'install', 'switchyard-driver-toy', '--json'],
        { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true }, env: { SWITCHYARD_STATE_DIR: withEnv.stateDir, ...env } },
        withEnv.deps,
      );
      expect(code).toBe(0);
      expect(JSON.parse(out).plugin).toMatchObject({ name: 'switchyard-driver-toy', kind: 'driver', type: 'toy', apiVersion: 1, version: '1.2.3' });
      expect(npm.calls.at(-1)).toContain('--registry');
      expect(npm.calls.at(-1)?.[(npm.calls.at(-1)?.indexOf('--registry') ?? 0) + 1]).toBe('http://127.0.0.1:9999');
    } finally {
      withEnv.dispose();
    }
  });

  test('ls lists name, version, kind, type, API version and description; --json too', async () => {
    expect((await h.run('plugin', 'ls')).stdout).toContain('No plugins installed');
    await h.run('plugin', 'install', toy);
    const rows = tableRows((await h.run('plugin', 'ls')).stdout);
    expect(rows).toEqual([
      ['NAME', 'VERSION', 'KIND', 'TYPE', 'API', 'DESCRIPTION'],
      ['switchyard-driver-toy', '1.2.3', 'driver', 'toy', '1', 'the toy test driver'],
    ]);
    const json = (await h.run('plugin', 'ls', '--json')).json();
    expect(json).toEqual({ pluginDir: pluginDir(), plugins: [{ name: 'switchyard-driver-toy', version: '1.2.3', kind: 'driver', type: 'toy', apiVersion: 1, description: 'the toy test driver' }] });
  });

  test('a package that is not a valid plugin is refused with its loader code and rolled back', async () => {
    const bad = (n: number, type: string, over: Parameters<typeof writePlugin>[3] = {}) => writePlugin(join(work, `bad${n}`), `switchyard-driver-bad${n}`, type, over);
    const cases: Array<[string, string, string]> = [
      [bad(1, 'bad1', { packageJson: { switchyard: undefined } }), 'SWY_ERR_PLUGIN_NOT_SWITCHYARD', 'not a Switchyard plugin'],
      [bad(2, 'bad2', { packageJson: { switchyard: { kind: 'driver', type: 'bad2', apiVersion: 9 } } }), 'SWY_ERR_DRIVER_API_MISMATCH', 'plugin API 9'],
      [bad(3, 'bad3', { packageJson: { peerDependencies: { '@switchyard/core': '^7.0.0' } } }), 'SWY_ERR_PLUGIN_CORE_MISMATCH', 'needs @switchyard/core ^7.0.0'],
      [bad(4, 'bad4', { body: 'export default { kind: "driver" };\n' }), 'SWY_ERR_PLUGIN_BAD_SHAPE', 'default export'],
      [bad(5, 'other'), 'SWY_ERR_PLUGIN_BAD_SHAPE', 'its name promises "bad5"'],
      [bad(6, 'bad6', { body: 'throw new Error("boom");\n' }), 'SWY_ERR_PLUGIN_LOAD_FAILED', 'boom'],
      [writePlugin(join(work, 'bad7'), 'switchyard-driver-bridge', 'bridge'), 'SWY_ERR_DRIVER_TYPE_COLLISION', 'built into switchyard'],
    ];
    await h.run('plugin', 'install', toy);
    for (const [dir, code, text] of cases) {
      const r = await h.run('plugin', 'install', dir);
      expect(`${dir} ${r.stderr}`).toContain(code);
      expect(r.stderr).toContain(text);
      expect(r.stderr).toContain('removing it again');
      // The directory is as it was: only the toy is listed and installed.
      expect(Object.keys(JSON.parse(readFileSync(join(pluginDir(), 'package.json'), 'utf8')).dependencies)).toEqual(['switchyard-driver-toy']);
      expect(readdirSync(join(pluginDir(), 'node_modules')).sort()).toEqual(['@switchyard', 'switchyard-driver-toy']);
      expect(existsSync(join(pluginDir(), 'node_modules', '@switchyard', 'core'))).toBe(true);
    }
  });

  test('arguments that name no plugin are usage errors before npm runs', async () => {
    const notes = [
      [['plugin', 'install', './does-not-exist.tgz'], 'SWY_ERR_USAGE', 'does not exist'],
      [['plugin', 'install', 'Not A Name'], 'SWY_ERR_USAGE', 'neither a package name'],
      [['plugin', 'install', 'left-pad'], 'SWY_ERR_INVALID_NAME', 'switchyard-driver-<type>'],
      [['plugin', 'install'], 'SWY_ERR_USAGE', 'missing required argument'],
    ] as const;
    for (const [argv, code, text] of notes) {
      const r = await h.run(...argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(code);
      expect(r.stderr).toContain(text);
    }
    const notTar = join(work, 'switchyard-driver-x-1.0.0.tgz');
    writeFileSync(notTar, 'not gzip');
    expect((await h.run('plugin', 'install', notTar)).stderr).toContain('is not a package tarball');
    expect(npm.calls).toEqual([]);
  });

  test('NAME, NAME@RANGE and scoped names are registry specs; paths are tarballs or directories', () => {
    expect(parseInstallSpec('switchyard-driver-toy', work)).toEqual({ kind: 'name', name: 'switchyard-driver-toy', npmSpec: 'switchyard-driver-toy' });
    expect(parseInstallSpec('switchyard-driver-toy@^1.2.0', work)).toEqual({ kind: 'name', name: 'switchyard-driver-toy', npmSpec: 'switchyard-driver-toy@^1.2.0' });
    expect(parseInstallSpec('@acme/switchyard-driver-ptp@1.0.0', work)).toEqual({ kind: 'name', name: '@acme/switchyard-driver-ptp', npmSpec: '@acme/switchyard-driver-ptp@1.0.0' });
    expect(parseInstallSpec('@acme/switchyard-driver-ptp', work).name).toBe('@acme/switchyard-driver-ptp');
    expect(parseInstallSpec('./switchyard-driver-toy', work)).toEqual({ kind: 'dir', name: 'switchyard-driver-toy', npmSpec: toy });
    expect(() => parseInstallSpec('switchyard-driver-toy@', work)).toThrow('neither a package name');
  });

  test('a state dir that cannot be created is a coded error, not a crash', async () => {
    const blocker = join(work, 'blocker');
    writeFileSync(blocker, '');
    const r = await h.run('--state-dir', join(blocker, 'state'), 'plugin', 'install', toy);
    expect(r.stderr).toContain('code: SWY_ERR_STORE_IO');
    expect(r.stderr).toContain('cannot be created (ENOTDIR)');
    expect(npm.calls).toEqual([]);
  });

  test('npm failing is SWY_ERR_PLUGIN_INSTALL_FAILED quoting npm, and leaves the directory as it was', async () => {
    const r = await h.run('plugin', 'install', 'switchyard-driver-nope@1.0.0');
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('SWY_ERR_PLUGIN_INSTALL_FAILED');
    expect(r.stderr).toContain('404 Not Found');
    expect(JSON.parse(readFileSync(join(pluginDir(), 'package.json'), 'utf8')).dependencies).toEqual({});
  });

  test('a plugin directory others can write to is refused', async () => {
    mkdirSync(pluginDir(), { recursive: true, mode: 0o777 });
    chmodSync(pluginDir(), 0o777);
    const r = await h.run('plugin', 'install', toy);
    expect(r.stderr).toContain('SWY_ERR_PLUGIN_UNTRUSTED');
    expect(r.stderr).toContain('chmod 700');
    expect(npm.calls).toEqual([]);
  });

  test('two installs at once take turns on the plugin directory lock, and both plugins end up installed', async () => {
    const other = writePlugin(work, 'switchyard-driver-other', 'other');
    let running = 0;
    let most = 0;
    // npm that takes a while, so the second install would start inside the first without the lock.
    h.deps.npm = async (args, env) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 400));
      try {
        return await npm.run(args, env);
      } finally {
        running--;
      }
    };
    const [a, b] = await Promise.all([h.run('plugin', 'install', toy), h.run('plugin', 'install', other)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(most).toBe(1);
    expect(Object.keys(JSON.parse(readFileSync(join(pluginDir(), 'package.json'), 'utf8')).dependencies).sort()).toEqual(['switchyard-driver-other', 'switchyard-driver-toy']);
    expect(`${a.stderr}${b.stderr}`).toMatch(/waiting for .*, which is changing /);
  });

  test('rm removes by package name or type, tries every name and reports failures at the end', async () => {
    await h.run('plugin', 'install', toy);
    const r = await h.run('plugin', 'rm', 'ghost', 'toy', 'switchyard-driver-other');
    expect(r.stdout).toContain('removed plugin switchyard-driver-toy');
    expect(r.stderr).toContain('SWY_ERR_PLUGIN_NOT_FOUND');
    expect(r.stderr).toContain('"ghost"');
    expect(r.stderr).toContain('warning: could not remove switchyard-driver-other');
    expect(r.code).toBe(3);
    expect(npm.calls.at(-1)?.slice(0, 1)).toEqual(['uninstall']);
    expect((await h.run('plugin', 'ls', '--json')).json().plugins).toEqual([]);
    expect(existsSync(join(pluginDir(), 'node_modules', '@switchyard', 'core'))).toBe(true);
  });

  test('rm refuses a driver that networks still use, naming them', async () => {
    await h.run('plugin', 'install', toy);
    // The network is made with a toy driver registered as an object (the harness keeps autoload off).
    const cap = { dataScope: 'local', connectivityScope: 'local' } as const;
    const noop = async () => ({ steps: [], hostSteps: [] });
    const toyDriver: DriverManifest = {
      kind: 'driver',
      apiVersion: 1,
      type: 'toy',
      version: '1.2.3',
      capability: cap,
      create: () =>
        ({ type: 'toy', capability: cap, validateNetworkOptions: (o: Record<string, unknown>) => o, createNetwork: noop, deleteNetwork: noop, createEndpoint: noop, deleteEndpoint: noop, join: noop, leave: noop }) as never,
    };
    const base = h.deps.createSwitchyard;
    h.deps.createSwitchyard = (o) => (base as NonNullable<typeof base>)({ ...o, builtins: { ...o.builtins, drivers: [...(o.builtins?.drivers ?? []), toyDriver] } });
    expect((await h.run('network', 'create', 'n1', '--driver', 'toy', '--subnet', '10.70.0.0/24')).code).toBe(0);
    expect((await h.run('network', 'create', 'n2', '--driver', 'toy', '--subnet', '10.71.0.0/24')).code).toBe(0);
    const r = await h.run('plugin', 'rm', 'switchyard-driver-toy');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('SWY_ERR_PLUGIN_IN_USE');
    expect(r.stderr).toContain('used by networks n1, n2');
    expect(r.stderr).toContain('switchyard network rm n1 n2');
    expect((await h.run('plugin', 'ls', '--json')).json().plugins).toHaveLength(1);
  });

  test('a missing driver names the real package and the real command', async () => {
    const r = await h.run('network', 'create', 'p', '--driver', 'ptp-lite');
    expect(r.stderr).toContain('SWY_ERR_DRIVER_NOT_FOUND');
    expect(r.stderr).toContain('`switchyard plugin install switchyard-driver-ptp-lite`');
    expect(r.stderr).not.toContain('npm install');
  });

  test('doctor lists installed plugins with their manifest and API version', async () => {
    await h.run('plugin', 'install', toy);
    const probes: Partial<DoctorProbes> = {
      which: (tool) => `/usr/bin/${tool}`,
      cniPlugins: () => [],
      moduleLoading: () => false,
      privileges: () => ({ uid: 0, netAdmin: true, sysAdmin: true }),
      dirStatus: () => ({ exists: true, writable: true }),
      sysctl: () => '1',
    };
    h.deps.doctor = probes;
    const r = await h.run('doctor');
    expect(r.stdout).toContain(`Plugins installed in ${pluginDir()}`);
    const section = r.stdout.split('\n\n').find((s) => s.startsWith('Plugins installed')) ?? '';
    expect(tableRows(section.split('\n').slice(1).join('\n'))).toEqual([
      ['PACKAGE', 'VERSION', 'KIND', 'TYPE', 'API', 'MANIFEST'],
      ['switchyard-driver-toy', '1.2.3', 'driver', 'toy', '1', '✓ 1.2.3 toy manifest'],
    ]);
    const json = (await h.run('doctor', '--json')).json();
    expect(json.doctor.installedPlugins.plugins).toEqual([expect.objectContaining({ name: 'switchyard-driver-toy', apiVersion: 1, manifest: { version: '1.2.3', description: 'toy manifest' } })]);
  });
});
