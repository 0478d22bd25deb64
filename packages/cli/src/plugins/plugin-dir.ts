import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PluginLoader, SwitchyardError, type PluginKind, type PluginManifest } from '@switchyard/core';

const CORE = '@switchyard/core';

/** What one npm run returned. */
export interface NpmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm ARGS…` (the CLI's real one spawns npm from PATH with umask 022; unit tests pass a fake). */
export type NpmRunner = (args: string[], env: Record<string, string | undefined>) => Promise<NpmResult>;

/** The CLI's plugin directory: a small npm project that only root (or this user) may write. */
export function pluginDirOf(stateDir: string): string {
  return join(stateDir, 'plugins');
}

/** npm through `sh`, so that what it writes is never group- or world-writable whatever the caller's umask. */
export const realNpm: NpmRunner = (args, env) =>
  new Promise((resolveRun, reject) => {
    const child = spawn('/bin/sh', ['-c', 'umask 022 && exec npm "$@"', 'npm', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ exitCode: code ?? 1, stdout, stderr }));
  });

/**
 * Creates the plugin directory (0700, with its state dir) and its package.json when missing, and
 * refuses one that others could write to: the loader would refuse every plugin in it anyway.
 */
export function ensurePluginDir(dir: string): void {
  if (!existsSync(dir)) {
    try {
      mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, 0o700);
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code ?? 'error';
      const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
      throw new SwitchyardError(denied ? 'SWY_ERR_PERMISSION_DENIED' : 'SWY_ERR_STORE_IO', `The plugin directory ${dir} cannot be created (${code})`, {
        hint: denied
          ? 'Plugins belong to whoever owns the state dir: run as root, or point --state-dir (SWITCHYARD_STATE_DIR) at a directory of your own.'
          : 'Check the state dir path (--state-dir, SWITCHYARD_STATE_DIR): every part of it must be a directory.',
        details: { path: dir },
        cause,
      });
    }
  }
  const st = statSync(dir);
  const uid = process.getuid?.() ?? 0;
  if ((st.uid !== 0 && st.uid !== uid) || st.mode & 0o022) {
    throw new SwitchyardError(
      'SWY_ERR_PLUGIN_UNTRUSTED',
      `The plugin directory ${dir} is ${st.uid !== 0 && st.uid !== uid ? `owned by uid ${st.uid}` : `writable by others (mode ${(st.mode & 0o7777).toString(8)})`}, so plugins there would never be loaded`,
      {
        hint: `Make it root's (or yours) and private: \`chown root: ${dir} && chmod 700 ${dir}\`.`,
        details: { path: dir },
      },
    );
  }
  const pkg = join(dir, 'package.json');
  if (!existsSync(pkg)) {
    writeFileSync(pkg, JSON.stringify({ name: 'switchyard-plugins', private: true, description: 'Plugins of the switchyard CLI, managed by `switchyard plugin install/rm`.', dependencies: {} }, null, 2) + '\n', { mode: 0o644 });
  }
}

/** The packages the plugin directory's package.json lists (core's link excepted). */
export function installedNames(dir: string): string[] {
  const path = join(dir, 'package.json');
  if (!existsSync(path)) return [];
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(parsed.dependencies ?? {})
    .filter((n) => n !== CORE)
    .sort();
}

/** The directory of the @switchyard/core this CLI runs with (the one its own `import '@switchyard/core'` loads). */
export function hostCoreDir(): string {
  // Core's exports have one "default" entry, so require's resolution finds the file the CLI's own imports load
  // (and works in the bundled CLI, where import.meta.resolve does not exist).
  const entry = createRequire(import.meta.url).resolve(CORE);
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === CORE) return dir;
  }
  throw new SwitchyardError('SWY_ERR_INTERNAL', `Cannot find the package directory of ${CORE} above ${entry}`);
}

/**
 * Points `<dir>/node_modules/@switchyard/core` at the CLI's own core, so a plugin's peer import
 * resolves (by realpath) to the very files the CLI loaded: one copy of core in the process. npm
 * prunes the link as extraneous on every install or uninstall, so this runs after each of them.
 */
export function linkHostCore(dir: string, coreDir: string): void {
  const scope = join(dir, 'node_modules', '@switchyard');
  mkdirSync(scope, { recursive: true });
  const link = join(scope, 'core');
  if (existsSync(link) || isSymlink(link)) rmSync(link, { recursive: true, force: true });
  symlinkSync(coreDir, link, 'dir');
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** The `name` in a package tarball's `package/package.json` (npm pack's layout), read without unpacking. */
export function tarballPackageName(file: string): string | undefined {
  const tar = gunzipSync(readFileSync(file));
  for (let off = 0; off + 512 <= tar.length;) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) return undefined;
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const name = (field(345, 155) ? `${field(345, 155)}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    if (/^[^/]+\/package\.json$/.test(name)) {
      const json = JSON.parse(tar.subarray(off + 512, off + 512 + size).toString('utf8')) as { name?: unknown };
      return typeof json.name === 'string' ? json.name : undefined;
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return undefined;
}

/** One installed plugin as `plugin ls` and `doctor` show it; `error` when the loader refuses it. */
export interface InstalledPlugin {
  name: string;
  version: string;
  kind?: PluginKind;
  type?: string;
  apiVersion?: number;
  description?: string;
  /** The manifest's own version and description (only when the manifest was imported). */
  manifest?: { version: string; description?: string };
  error?: { code: string; message: string };
}

/**
 * Every package the plugin directory lists, checked by the loader `network create --driver` uses.
 * With `importManifests`, each plugin's code is imported and its manifest checked too (doctor).
 */
export async function listInstalled(dir: string, importManifests: boolean): Promise<InstalledPlugin[]> {
  const loader = new PluginLoader({ pluginDir: dir });
  const out: InstalledPlugin[] = [];
  for (const name of installedNames(dir)) {
    try {
      const pkg = loader.inspect(name);
      const description = typeof pkg.packageJson.description === 'string' ? pkg.packageJson.description : undefined;
      const row: InstalledPlugin = { name, version: pkg.version, kind: pkg.kind, type: pkg.type, apiVersion: pkg.apiVersion, ...(description ? { description } : {}) };
      if (importManifests) {
        const manifest: PluginManifest = await loader.importManifest(pkg);
        row.manifest = { version: manifest.version, ...(manifest.description ? { description: manifest.description } : {}) };
        if (manifest.description) row.description = manifest.description;
      }
      out.push(row);
    } catch (e) {
      const err = e instanceof SwitchyardError ? e : new SwitchyardError('SWY_ERR_INTERNAL', String(e));
      out.push({ name, version: installedVersion(dir, name), error: { code: err.code, message: err.message } });
    }
  }
  return out;
}

function installedVersion(dir: string, name: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '?';
  }
}
