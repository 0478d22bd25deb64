import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSnapshot, requireLab, type KernelSnapshot } from '@switchyard/core/testing';

// The example driver, packed as its author would publish it, installed with `switchyard plugin install`
// and used by the built CLI (`npx tsc -b` first) on the lab kernel.
const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REPO = join(CLI_DIR, '..', '..');
const BIN = join(CLI_DIR, 'bin', 'switchyard.js');
const EXAMPLE = join(REPO, 'examples', 'switchyard-driver-ptp-lite');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let work: string;
let env: NodeJS.ProcessEnv;

function cli(args: string[], extra: string[] = []): Result {
  const r = spawnSync(process.execPath, [...extra, BIN, ...args], { env, cwd: work, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(...args: string[]): Result {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r;
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`\`${cmd} ${args.join(' ')}\` failed in ${cwd}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  requireLab();
  if (!existsSync(join(CLI_DIR, 'dist', 'main.js'))) throw new Error('The CLI is not built: run `npx tsc -b` before the kernel tests.');
  work = mkdtempSync(join(tmpdir(), 'swy-plugin-itest-'));
  // The example compiles against core's declarations; `pnpm pack` runs its prepack (the build) as publishing would.
  run('npx', ['tsc', '-b', 'packages/core'], REPO);
  run('pnpm', ['pack', '--pack-destination', work], EXAMPLE);
  env = {
    ...process.env,
    SWITCHYARD_STATE_DIR: join(work, 'state'),
    SWITCHYARD_NET_DIR: join(work, 'net.d'),
    // The lab has no network: npm works from the tarball alone, with a cache of its own.
    npm_config_offline: 'true',
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_update_notifier: 'false',
  };
});

afterAll(() => {
  if (work === undefined) return;
  try {
    for (const s of ['itplug1', 'itplug2']) cli(['sandbox', 'rm', s]);
    cli(['network', 'rm', 'itptp']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

describe('switchyard plugin with the packed example driver', () => {
  let initial: KernelSnapshot;
  beforeAll(async () => {
    initial = await kernelSnapshot();
  });

  test('install TARBALL, ls, network create --driver ptp-lite, connect, ping, one copy of core, rm', async () => {
    const tarball = readdirSync(work).find((f) => f.startsWith('switchyard-driver-ptp-lite-') && f.endsWith('.tgz'));
    expect(tarball).toBe('switchyard-driver-ptp-lite-0.1.0.tgz');

    const installed = ok('plugin', 'install', `./${tarball}`);
    expect(installed.stdout).toContain('installed switchyard-driver-ptp-lite 0.1.0: network driver "ptp-lite", plugin API 1');
    const pluginDir = join(work, 'state', 'plugins');
    expect(statSync(pluginDir).mode & 0o777).toBe(0o700);
    // A copy of the package, not a link to where it came from.
    expect(lstatSync(join(pluginDir, 'node_modules', 'switchyard-driver-ptp-lite')).isSymbolicLink()).toBe(false);

    const ls = JSON.parse(ok('plugin', 'ls', '--json').stdout) as { plugins: unknown[] };
    expect(ls.plugins).toEqual([expect.objectContaining({ name: 'switchyard-driver-ptp-lite', version: '0.1.0', kind: 'driver', type: 'ptp-lite', apiVersion: 1 })]);

    // The plugin's peer resolves (as Node resolves it, outside jest) to the very directory of the core the CLI runs with.
    const resolveCore = (from: string) => realpathSync(run(process.execPath, ['-p', "require('node:module').createRequire(process.argv[1]).resolve('@switchyard/core')", from], work).trim());
    const cliCoreEntry = resolveCore(join(CLI_DIR, 'package.json'));
    expect(resolveCore(join(pluginDir, 'node_modules', 'switchyard-driver-ptp-lite', 'package.json'))).toBe(cliCoreEntry);
    expect(realpathSync(join(pluginDir, 'node_modules', '@switchyard', 'core'))).toBe(realpathSync(join(CLI_DIR, 'node_modules', '@switchyard', 'core')));

    // The process that loads the plugin loads core's entry once: one URL, whoever imports it.
    const hook = join(work, 'hook.mjs');
    writeFileSync(hook, "import { writeSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); writeSync(2, 'LOADED ' + s + ' ' + r.url + '\\n'); return r; }\n");
    const register = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify('file://' + hook)});`;
    const created = cli(['network', 'create', 'itptp', '--driver', 'ptp-lite', '--subnet', '10.203.0.0/24'], ['--import', register]);
    expect(created.code).toBe(0);
    const coreLoads = created.stderr
      .split('\n')
      .filter((l) => l.startsWith('LOADED @switchyard/core '))
      .map((l) => l.split(' ')[2]);
    // Imported by the CLI and by the plugin, resolved to one file.
    expect(coreLoads.length).toBeGreaterThanOrEqual(2);
    expect(new Set(coreLoads).size).toBe(1);
    expect(realpathSync(fileURLToPath(coreLoads[0] as string))).toBe(cliCoreEntry);

    ok('sandbox', 'create', 'itplug1');
    ok('sandbox', 'create', 'itplug2');
    ok('connect', 'itptp', 'itplug1');
    ok('connect', 'itptp', 'itplug2');
    for (const s of ['itplug1', 'itplug2']) {
      const ping = spawnSync('nsenter', [`--net=/run/netns/${s}`, 'ping', '-n', '-c1', '-W2', '10.203.0.1'], { encoding: 'utf8' });
      expect(`${s}: ${ping.stdout}`).toContain('1 received');
    }

    // In use: refused, naming the network.
    const refused = cli(['plugin', 'rm', 'switchyard-driver-ptp-lite']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('SWY_ERR_PLUGIN_IN_USE');
    expect(refused.stderr).toContain('itptp');

    ok('sandbox', 'rm', 'itplug1', 'itplug2');
    ok('network', 'rm', 'itptp');
    expect(ok('plugin', 'rm', 'switchyard-driver-ptp-lite').stdout).toContain('removed plugin switchyard-driver-ptp-lite');
    expect((JSON.parse(ok('plugin', 'ls', '--json').stdout) as { plugins: unknown[] }).plugins).toEqual([]);
    expect(existsSync(join(pluginDir, 'node_modules', 'switchyard-driver-ptp-lite'))).toBe(false);
    expect(await kernelSnapshot()).toEqual(initial);
  });

  test('install DIR copies the package directory, and a directory that is not a plugin is refused and rolled back', () => {
    const installed = ok('plugin', 'install', EXAMPLE);
    expect(installed.stdout).toContain('installed switchyard-driver-ptp-lite 0.1.0');
    const pluginDir = join(work, 'state', 'plugins');
    expect(lstatSync(join(pluginDir, 'node_modules', 'switchyard-driver-ptp-lite')).isSymbolicLink()).toBe(false);

    const fake = join(work, 'switchyard-driver-fake');
    mkdirSync(fake);
    writeFileSync(join(fake, 'package.json'), JSON.stringify({ name: 'switchyard-driver-fake', version: '1.0.0', type: 'module', main: './index.js' }));
    writeFileSync(join(fake, 'index.js'), 'export default {};\n');
    const refused = cli(['plugin', 'install', fake]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('SWY_ERR_PLUGIN_NOT_SWITCHYARD');
    expect(existsSync(join(pluginDir, 'node_modules', 'switchyard-driver-fake'))).toBe(false);
    expect((JSON.parse(ok('plugin', 'ls', '--json').stdout) as { plugins: Array<{ name: string }> }).plugins.map((p) => p.name)).toEqual(['switchyard-driver-ptp-lite']);

    ok('plugin', 'rm', 'ptp-lite');
    expect((JSON.parse(ok('plugin', 'ls', '--json').stdout) as { plugins: unknown[] }).plugins).toEqual([]);
  });
});
