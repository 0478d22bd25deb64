// A private npm registry (verdaccio) on loopback for the registry round-trip test, and a mirror of the
// third-party packages Switchyard needs, taken from this workspace's installed node_modules (the lab
// has no route to the internet, and a test must never reach it).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface LocalRegistry {
  url: string;
  /** Environment for npm/pnpm children: this registry, a private cache and user config (never ~/.npmrc). */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port from the kernel');
  return address.port;
}

/** Starts verdaccio from the workspace's node_modules with storage in `work`; resolves once it answers. */
export async function startLocalRegistry(repoRoot: string, work: string): Promise<LocalRegistry> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const storage = join(work, 'registry-storage');
  mkdirSync(storage, { recursive: true });
  const config = join(work, 'verdaccio.yaml');
  // No uplinks: whatever is not published here does not exist. Anyone may publish (a throwaway registry).
  writeFileSync(
    config,
    [
      `storage: ${storage}`,
      'auth:',
      '  htpasswd:',
      `    file: ${join(work, 'htpasswd')}`,
      '    max_users: -1',
      'uplinks: {}',
      'packages:',
      "  '@switchyard/*':",
      '    access: $all',
      '    publish: $anonymous',
      "  'switchyard-driver-*':",
      '    access: $all',
      '    publish: $anonymous',
      "  '**':",
      '    access: $all',
      '    publish: $anonymous',
      'max_body_size: 500mb',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(join(repoRoot, 'node_modules', '.bin', 'verdaccio'), ['--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let up = false;
  while (!up && child.exitCode === null) {
    up = await fetch(`${url}-/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  if (!up) throw new Error(`verdaccio did not start:\n${output}`);

  const npmrc = join(work, 'npmrc');
  // Anonymous publish still needs some token for npm to send the request at all.
  writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=anonymous\n`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NPM_CONFIG_USERCONFIG: npmrc,
    npm_config_userconfig: npmrc,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_registry: url,
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  return {
    url,
    env,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const readPackageJson = (dir: string): PackageJson => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;

interface InstalledPackage {
  name: string;
  version: string;
  dir: string;
}

/** Node's lookup: `<dir>/node_modules/<name>`, then each parent's. */
function installedDir(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Every third-party package (not `@switchyard/*`) that the given packages need at run time, as they are
 * installed in this workspace: dependencies, installed optional dependencies, and peers.
 */
export function thirdPartyClosure(packageDirs: string[], extraNames: string[] = []): InstalledPackage[] {
  const found = new Map<string, InstalledPackage>();
  const visit = (dir: string, names: string[], optional: Set<string>): void => {
    for (const name of names) {
      if (name.startsWith('@switchyard/')) continue;
      const depDir = installedDir(dir, name);
      if (depDir === undefined) {
        if (optional.has(name)) continue;
        throw new Error(`${name}, needed by ${dir}, is not installed in the workspace`);
      }
      const pj = readPackageJson(depDir);
      const key = `${pj.name}@${pj.version}`;
      if (found.has(key)) continue;
      found.set(key, { name: pj.name, version: pj.version, dir: depDir });
      visit(depDir, runtimeDependencyNames(pj), new Set(Object.keys(pj.optionalDependencies ?? {})));
    }
  };
  for (const dir of packageDirs) {
    const pj = readPackageJson(dir);
    visit(dir, runtimeDependencyNames(pj), new Set(Object.keys(pj.optionalDependencies ?? {})));
  }
  for (const name of extraNames) visit(packageDirs[0] ?? process.cwd(), [name], new Set());
  return [...found.values()];
}

/**
 * The optional dependencies of `packages` that this machine did not install (another platform's
 * build, such as koffi's `@koromix/koffi-darwin-arm64`), as placeholder packages written under
 * `work`: the same name and version, a `cpu` no machine has, so a package manager that wants every
 * optional dependency's metadata (yarn 1 does) finds it and installs none of them.
 */
export function otherPlatformPlaceholders(packages: InstalledPackage[], work: string): InstalledPackage[] {
  const out = new Map<string, InstalledPackage>();
  for (const pkg of packages) {
    const pj = readPackageJson(pkg.dir);
    for (const [name, range] of Object.entries(pj.optionalDependencies ?? {})) {
      if (installedDir(pkg.dir, name) !== undefined || !/^\d+\.\d+\.\d+$/.test(range) || out.has(`${name}@${range}`)) continue;
      const dir = join(work, 'placeholders', `${name.replace('/', '+')}-${range}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: range, description: "placeholder for another platform's build; never installed here", cpu: ['none'] }));
      out.set(`${name}@${range}`, { name, version: range, dir });
    }
  }
  return [...out.values()];
}

function runtimeDependencyNames(pj: PackageJson): string[] {
  const optionalPeers = new Set(Object.entries(pj.peerDependenciesMeta ?? {}).flatMap(([n, m]) => (m.optional === true ? [n] : [])));
  const peers = Object.keys(pj.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n));
  return [...new Set([...Object.keys(pj.dependencies ?? {}), ...Object.keys(pj.optionalDependencies ?? {}), ...peers])];
}

/**
 * Publishes installed packages to the registry as they are (the files npm put there), through the
 * registry's publish API: one PUT each, far quicker than an `npm publish` process per package.
 */
export async function mirrorPackages(registryUrl: string, packages: InstalledPackage[], work: string): Promise<void> {
  const tarballs = join(work, 'mirror');
  mkdirSync(tarballs, { recursive: true });
  for (const pkg of packages) {
    const base = `${pkg.name.replace(/^@[^/]+\//, '')}-${pkg.version}.tgz`;
    const file = join(tarballs, `${pkg.name.replace('/', '+')}-${pkg.version}.tgz`);
    const manifest = JSON.parse(readFileSync(join(pkg.dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    // (--hard-dereference: pnpm's store hard-links identical files, and yarn 1 cannot extract tar hard links.)
    // Install scripts (koffi's fetches a prebuilt binary it already ships) would reach for the network; so
    // would npm's implicit `node-gyp rebuild` for a binding.gyp, which the workspace never ran either.
    delete manifest.scripts;
    if (existsSync(join(pkg.dir, 'binding.gyp'))) manifest.scripts = { install: 'exit 0' };
    const staged = join(tarballs, `${pkg.name.replace('/', '+')}-${pkg.version}`);
    mkdirSync(staged, { recursive: true });
    writeFileSync(join(staged, 'package.json'), JSON.stringify(manifest, null, 2));
    const entries = readdirSync(pkg.dir).filter((e) => e !== 'node_modules' && e !== 'package.json');
    execFileSync('tar', ['-czf', file, '--hard-dereference', '--transform', 's,^,package/,', '-C', pkg.dir, ...entries, '-C', staged, 'package.json']);
    const data = readFileSync(file);
    const version = {
      ...manifest,
      _id: `${pkg.name}@${pkg.version}`,
      dist: {
        shasum: createHash('sha1').update(data).digest('hex'),
        integrity: `sha512-${createHash('sha512').update(data).digest('base64')}`,
        tarball: `${registryUrl}${pkg.name}/-/${base}`,
      },
    };
    const body = {
      _id: pkg.name,
      name: pkg.name,
      'dist-tags': { latest: pkg.version },
      versions: { [pkg.version]: version },
      _attachments: { [base]: { content_type: 'application/octet-stream', data: data.toString('base64'), length: data.length } },
    };
    const res = await fetch(`${registryUrl}${pkg.name.replace('/', '%2f')}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: 'Bearer anonymous' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`mirroring ${pkg.name}@${pkg.version} failed: ${res.status} ${await res.text()}`);
  }
}
