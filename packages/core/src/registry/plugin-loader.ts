import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import parseVersion from 'semver/functions/parse.js';
import satisfies from 'semver/functions/satisfies.js';
import validRange from 'semver/ranges/valid.js';
import { quoteValue, thrownMessage } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { checkCapability, checkManifestShape } from './manifest-checks.js';
import { PLUGIN_API_VERSION, type PluginManifest } from './plugin.js';
import { pluginCheckError } from './plugin-checks.js';
import { packageJsonIn, untrustedLocation } from './plugin-location.js';
import { isPackageName, isPluginType, parsePluginPackageName, type PluginKind } from './plugin-names.js';

/** Where and how a {@link PluginLoader} finds and imports plugins. */
export interface PluginLoaderOptions {
  /** The embedding application's directory; plugins resolve from its dependencies first. Omitted: none (the CLI). */
  appDir?: string;
  /** A second place to resolve from, in its own node_modules only (the CLI's `<stateDir>/plugins`). */
  pluginDir?: string;
  /** This core's version, checked against the plugin's peer range; defaults to @switchyard/core's package.json. */
  coreVersion?: string;
  /** Loads an ES module by file URL; the default is the platform's `import()`. */
  importer?: (url: string) => Promise<unknown>;
}

/** What package.json says about a plugin, after checks 1-5 (no plugin code has run yet). */
export interface PluginPackage {
  /** The npm package name. */
  name: string;
  /** The package's version (semver). */
  version: string;
  /** `driver` or `ipam`, from `switchyard.kind`. */
  kind: PluginKind;
  /** Driver type or IPAM name from `switchyard.type`. */
  type: string;
  /** The plugin API version from `switchyard.apiVersion` (equal to {@link PLUGIN_API_VERSION} once checked). */
  apiVersion: number;
  /** The package's directory (symlinks resolved). */
  dir: string;
  /** The whole parsed package.json. */
  packageJson: Record<string, unknown>;
}

const CORE_PACKAGE = '@switchyard/core';
// The conditions this loader imports with, as Node's ESM resolver would for `import()`.
const IMPORT_CONDITIONS = new Set(['import', 'node', 'default']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

let ownVersion: string | undefined;
/** @switchyard/core's own version; src/registry and dist/registry both sit two levels under the package. */
function coreVersionFromPackageJson(): string {
  ownVersion ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  return ownVersion;
}

/**
 * Loads Switchyard plugins by npm package name. Resolution starts from the application's directory
 * (then the plugin directory), never by scanning node_modules, and every check that can be made from
 * package.json runs before the plugin's code is imported.
 */
export class PluginLoader {
  /** The application directory plugins resolve from first (absolute), if any. */
  readonly appDir: string | undefined;
  /** The plugin directory plugins resolve from next (absolute), if any. */
  readonly pluginDir: string | undefined;
  private readonly givenCoreVersion: string | undefined;
  private readonly importer: (url: string) => Promise<unknown>;

  constructor(options: PluginLoaderOptions) {
    this.appDir = options.appDir === undefined ? undefined : resolve(options.appDir);
    this.pluginDir = options.pluginDir === undefined ? undefined : resolve(options.pluginDir);
    this.givenCoreVersion = options.coreVersion;
    this.importer = options.importer ?? ((url) => import(url));
  }

  /** This core's version; package.json is read on first use, so an instance that loads no plugin never reads it. */
  get coreVersion(): string {
    return this.givenCoreVersion ?? coreVersionFromPackageJson();
  }

  /** Checks, then imports and validates: the whole sequence for a package on its own. */
  async load(
    name: string,
    kind?: PluginKind,
  ): Promise<{
    /** What package.json says about the plugin. */
    pkg: PluginPackage;
    /** The plugin's validated manifest (its default export). */
    manifest: PluginManifest;
  }> {
    const pkg = this.inspect(name, kind);
    return { pkg, manifest: await this.importManifest(pkg) };
  }

  /**
   * Checks 1-5 (`package-resolves` … `core-peer`) from package.json alone. `kind` defaults to the
   * one the name implies (`switchyard-driver-*`), or either for names outside the convention.
   */
  inspect(name: string, kind?: PluginKind): PluginPackage {
    if (!isPackageName(name)) {
      throw new SwitchyardError('SWY_ERR_INVALID_NAME', `${quoteValue(name)} is not an npm package name`, {
        hint: 'Name a plugin by its package name, such as `switchyard-driver-ptp` or `@acme/switchyard-driver-ptp`.',
      });
    }
    const packageJsonPath = this.findPackageJson(name);
    const packageJson = readPackageJson(name, packageJsonPath);
    const field = packageJson.switchyard;
    if (!isRecord(field) || typeof field.kind !== 'string' || !isPluginType(field.type) || field.apiVersion === undefined) {
      throw pluginCheckError('switchyard-field', {
        message: `Package ${name} is not a Switchyard plugin: its package.json has no valid "switchyard" field`,
        hint: 'A plugin\'s package.json declares "switchyard": {"kind": "driver", "type": "<type>", "apiVersion": 1}; check the package name.',
        details: { package: name, switchyard: field ?? null },
      });
    }
    const expected = kind ?? parsePluginPackageName(name)?.kind;
    if ((field.kind !== 'driver' && field.kind !== 'ipam') || (expected !== undefined && field.kind !== expected)) {
      throw pluginCheckError('kind-matches', {
        message: `Package ${name} is a Switchyard "${field.kind}" plugin, not ${expected === undefined ? 'a driver or IPAM' : `a${expected === 'ipam' ? 'n IPAM' : ' driver'}`} plugin`,
        hint: expected === 'ipam' ? 'IPAM plugins are named switchyard-ipam-<name>; load the matching package.' : 'Network drivers are named switchyard-driver-<type>; load the matching package.',
        details: { package: name, declared: field.kind, expected: expected ?? 'driver|ipam' },
      });
    }
    if (field.apiVersion !== PLUGIN_API_VERSION) {
      throw pluginCheckError('api-version', {
        message: `Package ${name} speaks plugin API ${quoteValue(field.apiVersion)}, this core speaks ${PLUGIN_API_VERSION}`,
        hint: `Upgrade one of them: a version of ${name} built for plugin API ${PLUGIN_API_VERSION}, or a @switchyard/core that speaks ${quoteValue(field.apiVersion)}.`,
        details: { package: name, pluginApiVersion: field.apiVersion, coreApiVersion: PLUGIN_API_VERSION },
      });
    }
    this.checkCorePeer(name, packageJson);
    return {
      name,
      version: typeof packageJson.version === 'string' ? packageJson.version : '0.0.0',
      kind: field.kind,
      type: field.type,
      apiVersion: field.apiVersion,
      dir: dirname(packageJsonPath),
      packageJson,
    };
  }

  /** Checks `entry-imports`, `manifest-shape`, `manifest-matches-package`, `capability`: the plugin's code runs here. */
  async importManifest(pkg: PluginPackage): Promise<PluginManifest> {
    const entry = this.entryOf(pkg);
    let module: unknown;
    try {
      module = await this.importer(pathToFileURL(entry).href);
    } catch (cause) {
      throw pluginCheckError('entry-imports', {
        message: `Package ${pkg.name} failed to load: ${thrownMessage(cause)}`,
        hint: `Run \`node -e "import('${pkg.name}')"\` in ${this.installDir} to see the full error; reinstall the package if files are missing.`,
        details: { package: pkg.name, entry },
        cause,
      });
    }
    const manifest = isRecord(module) ? module.default : undefined;
    const source = `The default export of ${pkg.name}`;
    checkManifestShape(manifest, pkg.kind, source);
    const key = manifest.kind === 'driver' ? manifest.type : manifest.name;
    if (key !== pkg.type || manifest.apiVersion !== pkg.apiVersion) {
      throw pluginCheckError('manifest-matches-package', {
        message: `${source} declares ${pkg.kind === 'driver' ? 'type' : 'name'} "${key}" (apiVersion ${manifest.apiVersion}), but its package.json declares "${pkg.type}" (apiVersion ${pkg.apiVersion})`,
        hint: 'Make the manifest and the package.json "switchyard" field agree; users select the plugin by that name.',
        details: { package: pkg.name, manifest: { type: key, apiVersion: manifest.apiVersion }, packageJson: { type: pkg.type, apiVersion: pkg.apiVersion } },
      });
    }
    if (manifest.kind === 'driver') checkCapability(manifest, source);
    return manifest;
  }

  /** Where `npm install` puts a plugin for this loader: the application, else the plugin directory. */
  get installDir(): string {
    return this.appDir ?? this.pluginDir ?? process.cwd();
  }

  /**
   * The command that installs a package where this loader finds it, quoted for a hint. A loader with
   * only a plugin directory is the CLI's (`<stateDir>/plugins`), which has its own installer:
   * `switchyard plugin install NAME`; otherwise `npm install NAME` in the application's directory.
   */
  installCommand(name: string): string {
    return this.appDir === undefined && this.pluginDir !== undefined ? `\`switchyard plugin install ${name}\`` : `\`npm install ${name}\` (run in ${this.installDir})`;
  }

  /**
   * Where the package's package.json is: the application's dependencies first (Node's resolution),
   * then the plugin directory's own node_modules (never a parent's); then checks that nobody but root
   * or this user could have written it (`location-trusted`), before anything of it is imported.
   */
  private findPackageJson(name: string): string {
    const found = (this.appDir === undefined ? undefined : resolveFrom(this.appDir, name)) ?? (this.pluginDir === undefined ? undefined : packageJsonIn(this.pluginDir, name));
    const roots = [this.appDir, this.pluginDir].filter((r): r is string => r !== undefined);
    if (found === undefined) {
      throw pluginCheckError('package-resolves', {
        message: `Plugin package ${name} was not found from ${roots.join(' or ') || 'anywhere (no application or plugin directory is set)'}`,
        hint: `Install it: ${this.installCommand(name)}.`,
        details: { package: name, searchedFrom: roots },
      });
    }
    const untrusted = untrustedLocation(found);
    if (untrusted !== undefined) {
      throw pluginCheckError('location-trusted', {
        message: `Plugin package ${name} at ${dirname(found)} is not loaded: ${untrusted}, so someone other than root or this user may have put code there`,
        hint: 'Install plugins where only root (or this user) can write: fix the owner or mode (chmod o-w), or reinstall the package in such a directory.',
        details: { package: name, path: found, reason: untrusted },
      });
    }
    return found;
  }

  private checkCorePeer(name: string, packageJson: Record<string, unknown>): void {
    const peers = packageJson.peerDependencies;
    const range = isRecord(peers) ? peers[CORE_PACKAGE] : undefined;
    const ok = typeof range === 'string' && validRange(range) !== null && satisfies(this.coreVersion, range, { includePrerelease: true });
    if (!ok) {
      throw pluginCheckError('core-peer', {
        message: typeof range === 'string' ? `Package ${name} needs ${CORE_PACKAGE} ${range}, this core is ${this.coreVersion}` : `Package ${name} does not declare ${CORE_PACKAGE} as a peer dependency`,
        hint:
          typeof range === 'string'
            ? `Install a version of ${name} made for ${CORE_PACKAGE} ${this.coreVersion}, or a ${CORE_PACKAGE} that satisfies ${range}.`
            : `The plugin must list "${CORE_PACKAGE}": "${caretRangeFor(this.coreVersion)}" under peerDependencies (one shared copy of core per process).`,
        details: { package: name, range: range ?? null, coreVersion: this.coreVersion },
      });
    }
  }

  /** The file `import(name)` would load: `exports` (import/node/default conditions), else `main`, else index.js. */
  private entryOf(pkg: PluginPackage): string {
    const { exports, main } = pkg.packageJson;
    const target = exports !== undefined ? exportTarget(rootExport(exports)) : typeof main === 'string' ? main : 'index.js';
    const file = target === undefined ? undefined : resolve(pkg.dir, target);
    const problem =
      file === undefined
        ? 'its "exports" has no entry for import()'
        : relative(pkg.dir, file).startsWith('..') || isAbsolute(relative(pkg.dir, file))
          ? `its entry ${target} points outside the package`
          : !existsSync(file)
            ? `its entry ${target} does not exist`
            : undefined;
    if (problem !== undefined || file === undefined) {
      throw pluginCheckError('entry-imports', {
        message: `Package ${pkg.name} cannot be imported: ${problem}`,
        hint: 'The package was probably published without its build output; reinstall a fixed version (authors: build before `npm publish`).',
        details: { package: pkg.name, entry: target ?? null },
      });
    }
    return file;
  }
}

/** `createRequire(<dir>/package.json).resolve(name/package.json)`; for packages whose `exports` hide package.json, Node's own lookup directories. */
function resolveFrom(root: string, name: string): string | undefined {
  const require = createRequire(join(root, 'package.json'));
  try {
    return require.resolve(`${name}/package.json`);
  } catch {
    // Same directories require() would try, in the same order: a lookup, not a scan.
    for (const dir of require.resolve.paths(name) ?? []) {
      const candidate = join(dir, name, 'package.json');
      if (existsSync(candidate)) return realpathSync(candidate);
    }
    return undefined;
  }
}

/** The caret range a plugin built against this core would declare (`^0.1.0` for 0.1.x, `^2.0.0` for 2.x). */
function caretRangeFor(version: string): string {
  const v = parseVersion(version);
  if (v === null) return `^${version}`;
  return v.major === 0 ? `^0.${v.minor}.0` : `^${v.major}.0.0`;
}

function readPackageJson(name: string, path: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (isRecord(parsed)) return parsed;
    throw new Error('package.json is not a JSON object');
  } catch (cause) {
    throw pluginCheckError('switchyard-field', {
      message: `Package ${name} is not a Switchyard plugin: its package.json at ${path} cannot be read`,
      hint: 'Reinstall the package; its package.json is damaged.',
      details: { package: name, path },
      cause,
    });
  }
}

function rootExport(exports: unknown): unknown {
  return isRecord(exports) && Object.keys(exports).some((k) => k.startsWith('.')) ? exports['.'] : exports;
}

function exportTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(exportTarget).find((t) => t !== undefined);
  if (isRecord(value)) {
    for (const [condition, nested] of Object.entries(value)) {
      const target = IMPORT_CONDITIONS.has(condition) ? exportTarget(nested) : undefined;
      if (target !== undefined) return target;
    }
  }
  return undefined;
}
