// The registry round trip: every @switchyard/* package and the example driver are published to a
// private registry on loopback, then installed by name the way a third party would, outside this
// workspace, and used on the real kernel (this file runs inside the lab namespace).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guideBlocks, guideCommandBlocks } from './driver-guide.js';
import { mirrorPackages, otherPlatformPlaceholders, startLocalRegistry, thirdPartyClosure, type LocalRegistry } from './local-npm-registry.js';

const repoRoot = fileURLToPath(new URL('../../../../../', import.meta.url));
const publishable = [
  'core',
  'ipam-host-local',
  'ipam-global',
  'driver-bridge',
  'driver-veth',
  'driver-macvlan',
  'driver-ipvlan',
  'driver-cni',
  'driver-overlay',
  'driver-routed',
  'firewall-nftables',
  'dns',
  'store-etcd',
  'agent',
  'cni',
  'cli',
];

describe('the registry round trip: published to a private registry, installed by name, used on the real kernel', () => {
  let work: string;
  let registry: LocalRegistry;

  const run = (cmd: string, args: string[], cwd: string): string => {
    try {
      return execFileSync(cmd, args, { cwd, env: registry.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      const { stdout, stderr } = e as { stdout?: string; stderr?: string };
      throw new Error(`\`${cmd} ${args.join(' ')}\` failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`, { cause: e });
    }
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'swy-registry-'));
    registry = await startLocalRegistry(repoRoot, work);
    // Up to date after `pnpm test`'s type-check; builds what is missing otherwise.
    run(join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-b'], repoRoot);
    run(process.execPath, [join(repoRoot, 'scripts', 'release.mjs'), '--registry', registry.url, '--examples', '--no-build'], repoRoot);
    // What the published packages need from npm, served by the same registry (the lab has no internet).
    // The driver author's dev dependencies (the guide's `npm install --save-dev` line) come from there too.
    const authorTools = ['typescript', '@types/node', 'jest', '@swc/jest', '@swc/core'];
    const closure = thirdPartyClosure([...publishable.map((p) => join(repoRoot, 'packages', p)), join(repoRoot, 'examples', 'switchyard-driver-ptp-lite')], authorTools);
    await mirrorPackages(registry.url, [...closure, ...otherPlatformPlaceholders(closure, work)], work);
  });

  afterAll(async () => {
    await registry?.stop();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('publishes every @switchyard package with real version ranges, a README and type declarations', async () => {
    for (const p of publishable) {
      const name = `@switchyard/${p}`;
      const packument = (await (await fetch(`${registry.url}${name.replace('/', '%2f')}`)).json()) as { versions: Record<string, Record<string, unknown>>; readme?: string };
      const manifest = packument.versions['0.1.0'];

      expect(manifest).toBeDefined();
      expect(JSON.stringify(manifest)).not.toContain('workspace:');
      expect(manifest?.license).toBe('Apache-2.0');
      expect(manifest?.types).toMatch(/\.d\.ts$/);
      expect(packument.readme?.length ?? 0).toBeGreaterThan(100);
    }
  });

  // The third party's program: load the driver by name, connect a sandbox on the real kernel, ping the gateway.
  const useDriverIn = (app: string, stateDir: string) => {
    const script = `
      import { execFileSync } from 'node:child_process';
      import { createSwitchyard } from '@switchyard/core';
      const sy = await createSwitchyard({ stateDir: process.argv[2], drivers: ['switchyard-driver-ptp-lite'] });
      try {
        await sy.controller.createNetwork({ name: 'ptp', driver: 'ptp-lite', ipam: { ipv4: [{ subnet: '10.77.0.0/24' }] } });
        const sandbox = await sy.controller.createSandbox({ name: 'box' });
        const endpoint = await sy.controller.connect('ptp', 'box');
        const ns = sandbox.netns.name;
        const eth0 = JSON.parse(execFileSync('ip', ['-n', ns, '-j', 'addr', 'show', 'eth0'], { encoding: 'utf8' }))[0];
        execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '10.77.0.1']);
        const plugins = sy.registry.list();
        await sy.controller.deleteSandbox('box');
        await sy.controller.deleteNetwork('ptp');
        console.log(JSON.stringify({ plugins, endpoint: endpoint.ipv4, eth0: { up: eth0.operstate, addrs: eth0.addr_info.map((a) => a.local + '/' + a.prefixlen) }, pinged: true }));
      } finally {
        await sy.close();
      }`;
    writeFileSync(join(app, 'try.mjs'), script);
    const out = JSON.parse(run(process.execPath, ['try.mjs', stateDir], app)) as { plugins: Array<Record<string, unknown>>; endpoint: string; eth0: { up: string; addrs: string[] }; pinged: boolean };
    expect(out.plugins).toEqual([
      expect.objectContaining({ kind: 'driver', type: 'ptp-lite', origin: 'package', packageName: 'switchyard-driver-ptp-lite' }),
      expect.objectContaining({ kind: 'ipam', type: 'host-local', origin: 'package', packageName: '@switchyard/ipam-host-local' }),
    ]);
    expect(out.eth0.addrs).toContain(out.endpoint);
    expect(out.endpoint).toMatch(/^10\.77\.0\.\d+\/24$/);
    expect(out.pinged).toBe(true);
  };

  it('lets a third party install core and the driver by name, load the driver by name and connect a sandbox that reaches its gateway', () => {
    const app = join(work, 'app');
    mkdirSync(app);
    run('npm', ['init', '-y'], app);
    run('npm', ['pkg', 'set', 'type=module'], app);
    run('npm', ['install', '@switchyard/core', '@switchyard/ipam-host-local', 'switchyard-driver-ptp-lite'], app);
    useDriverIn(app, join(work, 'state'));
    // One copy of core in the application: the driver and the IPAM use the application's.
    expect(JSON.parse(readFileSync(join(app, 'node_modules', '@switchyard', 'core', 'package.json'), 'utf8'))).toMatchObject({ version: '0.1.0' });
    expect(existsSync(join(app, 'node_modules', 'switchyard-driver-ptp-lite', 'node_modules', '@switchyard', 'core'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', '@switchyard', 'core', 'LICENSE'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@switchyard', 'ipam-host-local', 'LICENSE'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', '@switchyard', 'ipam-host-local', 'node_modules', '@switchyard', 'core'))).toBe(false);
  });

  it('installs the same way with pnpm (its isolated node_modules), with one copy of core for the driver, the IPAM and the application', () => {
    const app = join(work, 'app-pnpm');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app-pnpm', version: '1.0.0', private: true, type: 'module' }));
    run('pnpm', ['add', '--store-dir', join(work, 'pnpm-store'), '--registry', registry.url, '@switchyard/core', '@switchyard/ipam-host-local', 'switchyard-driver-ptp-lite'], app);
    useDriverIn(app, join(work, 'state-pnpm'));
    // pnpm links each package's peer to the application's own core: the same directory on disk.
    const core = realpathSync(join(app, 'node_modules', '@switchyard', 'core'));
    for (const pkg of ['switchyard-driver-ptp-lite', '@switchyard/ipam-host-local']) {
      const peer = join(realpathSync(join(app, 'node_modules', pkg)), '..', ...(pkg.startsWith('@') ? ['..'] : []), '@switchyard', 'core');
      expect(realpathSync(peer)).toBe(core);
    }
  });

  it('installs the same way with yarn 1, whose lockfile and node_modules layout are its own', () => {
    const app = join(work, 'app-yarn');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app-yarn', version: '1.0.0', private: true, type: 'module' }));
    run('yarn', ['add', '--non-interactive', '--no-progress', '--cache-folder', join(work, 'yarn-cache'), '--registry', registry.url, '@switchyard/core', '@switchyard/ipam-host-local', 'switchyard-driver-ptp-lite'], app);
    useDriverIn(app, join(work, 'state-yarn'));
    expect(readFileSync(join(app, 'yarn.lock'), 'utf8')).toContain('switchyard-driver-ptp-lite@');
    expect(existsSync(join(app, 'node_modules', 'switchyard-driver-ptp-lite', 'node_modules', '@switchyard', 'core'))).toBe(false);
  });

  it('takes a driver author through every command of docs/writing-a-driver.md, from an empty directory to a release users install by name', () => {
    const guide = readFileSync(join(repoRoot, 'docs', 'writing-a-driver.md'), 'utf8');
    const blocks = guideBlocks(guide);
    // driver-guide.test.ts keeps the guide's shell blocks to these four, so none goes unexercised.
    const [scaffold, kernelRun, tryIt, publish] = guideCommandBlocks(guide);
    const author = join(work, 'author');
    const driverDir = join(author, 'switchyard-driver-ptp-lite');
    const scratchApp = join(work, 'scratch-app');
    mkdirSync(author);
    // The guide's paths, made this test's own.
    const local = (commands: string) => commands.replaceAll('/tmp/app', scratchApp).replaceAll('/path/to/', `${driverDir}/`);
    const sh = (commands: string, cwd: string) => run('bash', ['-euo', 'pipefail', '-c', local(commands)], cwd);

    // 2. npm init and the package.json, tsconfig.json, jest.config.js, as the guide shows them.
    sh(scaffold ?? '', author);
    const packageJson = JSON.parse(blocks.find((b) => b.lang === 'json' && b.text.includes('"switchyard"'))?.text ?? '{}') as Record<string, Record<string, string>>;
    // The guide says so: outside the Switchyard repository the dev dependency is an ordinary range.
    const installed = JSON.parse(readFileSync(join(driverDir, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
    packageJson.devDependencies = { ...packageJson.devDependencies, ...installed.devDependencies, '@switchyard/core': '^0.1.0' };
    writeFileSync(join(driverDir, 'package.json'), JSON.stringify(packageJson, null, 2));
    writeFileSync(join(driverDir, 'tsconfig.json'), blocks.find((b) => b.lang === 'json' && b.text.includes('compilerOptions'))?.text ?? '');
    writeFileSync(join(driverDir, 'jest.config.js'), blocks.find((b) => b.lang === 'js' && b.text.includes('testMatch'))?.text ?? '');
    // 3-4. The driver itself: the example's source, which the guide quotes.
    mkdirSync(join(driverDir, 'src'));
    writeFileSync(join(driverDir, 'src', 'index.ts'), readFileSync(join(repoRoot, 'examples', 'switchyard-driver-ptp-lite', 'src', 'index.ts')));
    // 5. The conformance suite from the installed @switchyard/core/testing, on FakeKernel, then on the real kernel.
    mkdirSync(join(driverDir, 'test'));
    for (const file of ['test/conformance.test.ts', 'test/conformance.itest.ts']) {
      writeFileSync(join(driverDir, file), blocks.find((b) => b.lang === 'ts' && b.text.startsWith(`// ${file}`))?.text ?? '');
    }
    run('npm', ['test'], driverDir);
    sh(kernelRun ?? '', driverDir);

    // 7. Pack, install the tarball into a scratch application, load it by name; then publish a new version.
    sh(tryIt ?? '', driverDir);
    const tryScript = blocks.find((b) => b.lang === 'js' && b.text.startsWith('// /tmp/app/try.mjs'))?.text ?? '';
    writeFileSync(join(scratchApp, 'try.mjs'), local(tryScript));
    const listed = run(process.execPath, ['try.mjs'], scratchApp);
    sh(publish ?? '', driverDir);

    // A user installs the new release by name from the registry.
    const user = join(work, 'user-app');
    mkdirSync(user);
    run('npm', ['init', '-y'], user);
    run('npm', ['install', '@switchyard/core', 'switchyard-driver-ptp-lite@0.1.1'], user);

    expect(existsSync(join(driverDir, 'switchyard-driver-ptp-lite-0.1.0.tgz'))).toBe(true);
    expect(existsSync(join(scratchApp, 'node_modules', 'switchyard-driver-ptp-lite', 'dist', 'index.js'))).toBe(true);
    expect(listed).toContain("type: 'ptp-lite'");
    expect(listed).toContain("origin: 'package'");
    expect(JSON.parse(readFileSync(join(user, 'node_modules', 'switchyard-driver-ptp-lite', 'package.json'), 'utf8'))).toMatchObject({ version: '0.1.1', peerDependencies: { '@switchyard/core': '^0.1.0' } });
  });
});
