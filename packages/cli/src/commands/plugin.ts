import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileLock, isPackageName, parsePluginPackageName, PluginLoader, SwitchyardError, type PluginKind, type Switchyard } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { usageError } from '../flags.js';
import { oneLine } from '../output/failure.js';
import { formatTable } from '../output/table.js';
import { ensurePluginDir, hostCoreDir, installedNames, linkHostCore, listInstalled, pluginDirOf, realNpm, tarballPackageName, type NpmRunner } from '../plugins/plugin-dir.js';
import { removeEach } from './each-name.js';

export interface PluginInstallFlags {
  registry?: string;
}

/** What the user named: a registry package (with an optional version or range), a tarball, or a package directory. */
interface InstallSpec {
  kind: 'name' | 'tarball' | 'dir';
  /** The package name, known before npm runs. */
  name: string;
  /** What npm is given: the spec as written, or the absolute path. */
  npmSpec: string;
}

const NPM_FLAGS = ['--no-audit', '--no-fund', '--omit=dev', '--legacy-peer-deps'];

/** Works out the package name of NAME[@range] | TARBALL | DIR before anything is installed. */
export function parseInstallSpec(spec: string, cwd: string): InstallSpec {
  const path = resolve(cwd, spec);
  // As npm reads a spec: a path has a slash (scoped names aside) or a tarball's extension; `foo` is always a registry name.
  const looksLikePath = (!spec.startsWith('@') && spec.includes('/')) || spec.endsWith('.tgz') || spec.endsWith('.tar.gz');
  if (looksLikePath) {
    if (!existsSync(path)) throw usageError(`${spec} does not exist`, 'Name a package (switchyard-driver-<type>[@range]), a tarball made by `npm pack`, or a package directory.');
    if (statSync(path).isDirectory()) {
      const name = readName(join(path, 'package.json'), spec);
      return { kind: 'dir', name, npmSpec: path };
    }
    let name: string | undefined;
    try {
      name = tarballPackageName(path);
    } catch {
      name = undefined;
    }
    if (name === undefined) throw usageError(`${spec} is not a package tarball (no package/package.json inside)`, 'Make one with `npm pack` in the package directory.');
    return { kind: 'tarball', name, npmSpec: path };
  }
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  const name = at < 0 ? spec : spec.slice(0, at);
  if (!isPackageName(name) || (at >= 0 && at === spec.length - 1)) {
    throw usageError(
      `${JSON.stringify(spec)} is neither a package name (NAME or NAME@RANGE), a tarball nor a directory`,
      'For example: `switchyard plugin install switchyard-driver-ptp-lite@^0.1.0` or `switchyard plugin install ./switchyard-driver-ptp-lite-0.1.0.tgz`.',
    );
  }
  return { kind: 'name', name, npmSpec: spec };
}

function readName(packageJson: string, spec: string): string {
  try {
    const name = (JSON.parse(readFileSync(packageJson, 'utf8')) as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  } catch {
    // reported below
  }
  throw usageError(`${spec} is not a package directory (no package.json with a name)`, 'Name the directory that holds the plugin package.json.');
}

/** The plugin kind and type a package name promises; the CLI loads plugins only by that convention. */
function conventionOf(name: string): { kind: PluginKind; type: string } {
  const parsed = parsePluginPackageName(name);
  if (parsed === undefined) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Package ${name} is not named like a Switchyard plugin, so the CLI would never load it`, {
      hint: 'Plugins are named switchyard-driver-<type> (network drivers) or switchyard-ipam-<name> (IPAM), optionally scoped (@acme/switchyard-driver-<type>).',
      details: { package: name },
    });
  }
  return parsed;
}

interface PluginDirState {
  files: Record<'package.json' | 'package-lock.json', string | undefined>;
}

function snapshot(dir: string): PluginDirState {
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : undefined);
  return { files: { 'package.json': read('package.json'), 'package-lock.json': read('package-lock.json') } };
}

function restore(dir: string, state: PluginDirState): void {
  for (const [file, text] of Object.entries(state.files)) {
    if (text === undefined) rmSync(join(dir, file), { force: true });
    else writeFileSync(join(dir, file), text);
  }
}

/** Runs npm in the plugin directory; a failure is SWY_ERR_PLUGIN_INSTALL_FAILED quoting npm, a missing npm SWY_ERR_TOOL_MISSING. */
async function npm(ctx: CliContext, dir: string, args: string[], what: string): Promise<void> {
  const runner: NpmRunner = ctx.deps.npm ?? realNpm;
  let result;
  try {
    result = await runner([...args, '--prefix', dir], ctx.io.env);
  } catch (cause) {
    throw new SwitchyardError('SWY_ERR_TOOL_MISSING', `npm could not be started: ${cause instanceof Error ? cause.message : String(cause)}`, {
      hint: 'Plugins are installed with npm: install Node.js with npm (apt-get install npm), then try again.',
      cause,
    });
  }
  // Exit 127 from the shell wrapper: npm is not on PATH.
  if (result.exitCode === 127 && /not found/.test(result.stderr)) {
    throw new SwitchyardError('SWY_ERR_TOOL_MISSING', 'npm is not installed (not found on PATH)', { hint: 'Plugins are installed with npm: install Node.js with npm (apt-get install npm), then try again.' });
  }
  if (result.exitCode !== 0) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-6).join('\n');
    throw new SwitchyardError('SWY_ERR_PLUGIN_INSTALL_FAILED', `npm failed to ${what} (exit ${result.exitCode}):\n${tail}`, {
      hint: 'Check the package name, version and registry (--registry or npm_config_registry); the plugin directory is as it was before.',
      details: { npm: ['npm', ...args], exitCode: result.exitCode, pluginDir: dir },
    });
  }
}

/**
 * `plugin install NAME[@range]|TARBALL|DIR`: npm installs it into `<stateDir>/plugins` (peers left
 * out, `@switchyard/core` linked to the CLI's own), then the loader `network create --driver` uses
 * checks it end to end (package.json, API version, core peer, manifest). A package that fails is
 * rolled back: the plugin directory is left as it was.
 */
export async function pluginInstall(ctx: CliContext, specText: string, f: PluginInstallFlags): Promise<void> {
  const spec = parseInstallSpec(specText, process.cwd());
  const convention = conventionOf(spec.name);
  const dir = pluginDirOf(ctx.stateDir);
  ensurePluginDir(dir);
  await withPluginDirLock(ctx, dir, () => install(ctx, dir, spec, specText, convention, f));
}

async function install(ctx: CliContext, dir: string, spec: InstallSpec, specText: string, convention: { kind: PluginKind; type: string }, f: PluginInstallFlags): Promise<void> {
  const coreDir = ctx.deps.coreDir?.() ?? hostCoreDir();
  const before = snapshot(dir);
  const registry = f.registry ?? nonEmpty(ctx.io.env.npm_config_registry);
  const args = ['install', ...NPM_FLAGS, ...(spec.kind === 'dir' ? ['--install-links'] : []), ...(registry ? ['--registry', registry] : []), spec.npmSpec];
  ctx.progress(`installing ${spec.npmSpec} into ${dir}`);
  try {
    await npm(ctx, dir, args, `install ${specText}`);
  } catch (e) {
    restore(dir, before);
    linkHostCore(dir, coreDir);
    throw e;
  }
  linkHostCore(dir, coreDir);
  try {
    const loader = new PluginLoader({ pluginDir: dir });
    const { pkg, manifest } = await loader.load(spec.name, convention.kind);
    if (pkg.type !== convention.type) {
      throw new SwitchyardError('SWY_ERR_PLUGIN_BAD_SHAPE', `Package ${spec.name} declares ${pkg.kind === 'driver' ? 'type' : 'name'} "${pkg.type}", but its name promises "${convention.type}", so it could never be selected`, {
        hint: `The package named for "${convention.type}" must declare "switchyard": {"type": "${convention.type}"}; report it to its authors.`,
        details: { package: spec.name, declared: pkg.type, expected: convention.type },
      });
    }
    await refuseBuiltinClash(ctx, pkg.kind, pkg.type, spec.name);
    const row = { name: pkg.name, version: pkg.version, kind: pkg.kind, type: pkg.type, apiVersion: pkg.apiVersion, ...(manifest.description ? { description: manifest.description } : {}), dir: pkg.dir };
    ctx.result(
      `installed ${pkg.name} ${pkg.version}: ${pkg.kind === 'driver' ? 'network driver' : 'IPAM driver'} "${pkg.type}", plugin API ${pkg.apiVersion}\n  in ${dir}\n  use it: ${pkg.kind === 'driver' ? `switchyard network create NAME --driver ${pkg.type}` : `an IPAM named "${pkg.type}"`}`,
      { plugin: row },
    );
  } catch (e) {
    ctx.progress(`${spec.name} is not a usable Switchyard plugin; removing it again`);
    restore(dir, before);
    try {
      await npm(ctx, dir, ['install', ...NPM_FLAGS, ...(registry ? ['--registry', registry] : [])], 'restore the plugin directory');
    } catch (rollback) {
      ctx.warn(oneLine(`could not restore ${dir}: ${rollback instanceof Error ? rollback.message : String(rollback)}`));
    }
    linkHostCore(dir, coreDir);
    throw e;
  }
}

/** A plugin may not take a built-in's type: the registry would refuse it at every use. */
async function refuseBuiltinClash(ctx: CliContext, kind: PluginKind, type: string, name: string): Promise<void> {
  const sy = await ctx.open('read');
  const clash = sy.registry.list().find((p) => p.kind === kind && p.type === type && p.origin !== 'package');
  if (clash) {
    throw new SwitchyardError('SWY_ERR_DRIVER_TYPE_COLLISION', `Package ${name} provides ${kind === 'driver' ? 'network driver' : 'IPAM'} "${type}", which is built into switchyard, so it would never be used`, {
      hint: 'Ask its authors for another type; built-in types cannot be replaced.',
      details: { package: name, kind, type },
    });
  }
}

/** `plugin ls`: the packages in the plugin directory, as the loader sees them (no plugin code runs). */
export async function pluginList(ctx: CliContext): Promise<void> {
  const dir = pluginDirOf(ctx.stateDir);
  const plugins = await listInstalled(dir, false);
  const human =
    plugins.length === 0
      ? `No plugins installed in ${dir}. Install one with \`switchyard plugin install switchyard-driver-<type>\`.\n`
      : formatTable(
          ['NAME', 'VERSION', 'KIND', 'TYPE', 'API', 'DESCRIPTION'],
          plugins.map((p) => [p.name, p.version, p.kind ?? '?', p.type ?? '?', p.apiVersion === undefined ? '?' : String(p.apiVersion), p.error ? `✗ ${p.error.code}: ${oneLine(p.error.message)}` : (p.description ?? '')]),
        );
  ctx.result(human, { pluginDir: dir, plugins });
}

/** `plugin rm NAME…` (package names or types): each is tried; one that networks still use is refused, naming them. */
export async function pluginRemove(ctx: CliContext, names: string[]): Promise<void> {
  const dir = pluginDirOf(ctx.stateDir);
  if (existsSync(dir)) await withPluginDirLock(ctx, dir, () => remove(ctx, dir, names));
  else await remove(ctx, dir, names);
}

/**
 * Installs and removals take turns: each holds an exclusive flock on `<pluginDir>/.lock` for the whole
 * npm run and check, so two at once cannot interleave their package.json edits or roll back each other.
 */
async function withPluginDirLock<T>(ctx: CliContext, dir: string, body: () => Promise<T>): Promise<T> {
  const lock = await FileLock.acquire(join(dir, '.lock'), {
    // npm may take minutes on a slow registry; the waiter says whom it waits for after a second.
    timeoutMs: 15 * 60_000,
    slowMs: 200,
    onWait: (holders) => ctx.progress(`waiting for ${holders}, which is changing ${dir}`),
  });
  try {
    return await body();
  } finally {
    lock.release();
  }
}

async function remove(ctx: CliContext, dir: string, names: string[]): Promise<void> {
  const installed = installedNames(dir);
  const loader = new PluginLoader({ pluginDir: dir });
  let sy: Switchyard | undefined;
  const removed = await removeEach(ctx, names, async (given) => {
    const name = installed.includes(given) ? given : installed.find((n) => parsePluginPackageName(n)?.type === given);
    if (name === undefined) {
      throw new SwitchyardError('SWY_ERR_PLUGIN_NOT_FOUND', `No plugin ${JSON.stringify(given)} is installed in ${dir}`, {
        hint: installed.length > 0 ? `Installed: ${installed.join(', ')} (\`switchyard plugin ls\`).` : 'No plugins are installed (`switchyard plugin ls`).',
        details: { plugin: given, installed },
      });
    }
    let kind: PluginKind | undefined;
    let type: string | undefined;
    try {
      const pkg = loader.inspect(name);
      kind = pkg.kind;
      type = pkg.type;
    } catch {
      // A broken package cannot have been used by any network: fall back to what its name says.
      ({ kind, type } = parsePluginPackageName(name) ?? {});
    }
    if (kind !== undefined && type !== undefined) {
      sy ??= await ctx.open('read');
      const users = (await sy.controller.listNetworks()).filter((n) => (kind === 'driver' ? n.driver === type : n.ipamDriver === type)).map((n) => n.name);
      if (users.length > 0) {
        throw new SwitchyardError('SWY_ERR_PLUGIN_IN_USE', `Plugin ${name} is used by network${users.length > 1 ? 's' : ''} ${users.join(', ')}`, {
          hint: `Remove ${users.length > 1 ? 'them' : 'it'} first: \`switchyard network rm ${users.join(' ')}\`.`,
          details: { plugin: name, kind, type, networks: users },
        });
      }
    }
    await npm(ctx, dir, ['uninstall', ...NPM_FLAGS, name], `uninstall ${name}`);
    linkHostCore(dir, ctx.deps.coreDir?.() ?? hostCoreDir());
    ctx.say(`removed plugin ${name}`);
    return name;
  });
  ctx.emitJson({ removed });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
