import { join } from 'node:path';
import { inject, injectable } from '../di/decorators.js';
import type { ResolvedOptions } from '../di/options.js';
import { TOKENS } from '../di/tokens.js';
import { thrownMessage } from '../errors/quote-value.js';
import { isSwitchyardError, SwitchyardError } from '../errors/switchyard-error.js';
import type { Firewall } from '../spi/firewall.js';
import type { IpamDriver } from '../spi/ipam-driver.js';
import type { Kernel } from '../spi/kernel.js';
import type { NetworkDriver } from '../spi/network-driver.js';
import type { StateStore } from '../spi/state-store.js';
import type { Logger } from './logger.js';
import { checkCapability, checkCreatedInstance, checkManifestApiVersion, checkManifestShape, manifestKey } from './manifest-checks.js';
import type { GlobalStore } from '../spi/global-store.js';
import type { DriverManifest, IpamManifest, PluginDeps, PluginManifest } from './plugin.js';
import { pluginCheckError } from './plugin-checks.js';
import { PluginLoader, type PluginPackage } from './plugin-loader.js';
import { isPluginType, pluginPackageName, type PluginKind } from './plugin-names.js';

/** Where a registered plugin came from: core's built-in table, an object the embedder passed, or an npm package. */
export type PluginOrigin = 'builtin' | 'object' | 'package';

/** One row of `list()`, for `switchyard doctor` and the CLI. */
export interface RegisteredPlugin {
  /** `driver` or `ipam`. */
  kind: PluginKind;
  /** Driver type or IPAM name. */
  type: string;
  /** The plugin's own version, from its manifest. */
  version: string;
  /** Where it came from. */
  origin: PluginOrigin;
  /** The npm package it was loaded from (origin `package`). */
  packageName?: string;
  /** The manifest's one-line description. */
  description?: string;
}

interface Entry {
  manifest: PluginManifest;
  origin: PluginOrigin;
  packageName?: string;
  /** Set on first use and shared by concurrent callers; cleared when create() fails so a retry can succeed. */
  instance?: Promise<NetworkDriver | IpamDriver>;
}

const KIND_WORDS: Record<PluginKind, string> = { driver: 'network driver', ipam: 'IPAM driver' };

/**
 * Every network and IPAM driver an instance knows: built-ins, objects the embedder passed, and npm
 * packages loaded by name. Drivers are created lazily, once, on first use.
 */
@injectable()
export class PluginRegistry {
  private readonly entries: Record<PluginKind, Map<string, Entry>> = { driver: new Map(), ipam: new Map() };
  /** Package loads in flight by package name, so concurrent first uses of a type import it once. */
  private readonly loading = new Map<string, Promise<PluginManifest>>();
  private readonly loader: PluginLoader;

  private globalStore: GlobalStore | undefined;

  constructor(
    @inject(TOKENS.Kernel) private readonly kernel: Kernel,
    @inject(TOKENS.Firewall) private readonly firewall: Firewall,
    @inject(TOKENS.StateStore) private readonly store: StateStore,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Options) private readonly options: ResolvedOptions,
  ) {
    this.loader = new PluginLoader({ ...(options.appDir === undefined ? {} : { appDir: options.appDir }), ...(options.pluginDir === undefined ? {} : { pluginDir: options.pluginDir }) });
  }

  /** Hands plugins created from now on the cluster's global store (the composition root calls it before any plugin is created). */
  useGlobalStore(store: GlobalStore): void {
    this.globalStore = store;
  }

  /** Registers a network driver after the manifest checks; SWY_ERR_DRIVER_TYPE_COLLISION when its type is taken. */
  registerDriver(manifest: DriverManifest, origin: PluginOrigin, packageName?: string): void {
    this.register('driver', manifest, origin, packageName);
  }

  /** Registers an IPAM driver after the manifest checks; SWY_ERR_DRIVER_TYPE_COLLISION when its name is taken. */
  registerIpam(manifest: IpamManifest, origin: PluginOrigin, packageName?: string): void {
    this.register('ipam', manifest, origin, packageName);
  }

  /** The driver for a network type, created on first use (loading `switchyard-driver-<type>` when autoload is on). */
  async driver(type: string): Promise<NetworkDriver> {
    return (await this.instance('driver', type)) as NetworkDriver;
  }

  /** The IPAM driver of that name, created on first use (loading `switchyard-ipam-<name>`, or `@switchyard/ipam-host-local` for the default `host-local`, when autoload is on). */
  async ipam(name: string): Promise<IpamDriver> {
    return (await this.instance('ipam', name)) as IpamDriver;
  }

  /**
   * Loads a plugin by npm package name and registers it; loading the same package twice is a no-op.
   * `kind` (optional) is what the caller expects; by default the name's convention decides.
   */
  async loadPackage(name: string, kind?: PluginKind): Promise<PluginManifest> {
    const pkg = this.loader.inspect(name, kind);
    return this.loadInspected(pkg);
  }

  /** Everything registered, drivers first, each sorted by type. */
  list(): RegisteredPlugin[] {
    return (['driver', 'ipam'] as const).flatMap((kind) =>
      [...this.entries[kind].entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([type, e]) => ({
          kind,
          type,
          version: e.manifest.version,
          origin: e.origin,
          ...(e.packageName === undefined ? {} : { packageName: e.packageName }),
          ...(e.manifest.description === undefined ? {} : { description: e.manifest.description }),
        })),
    );
  }

  private register(kind: PluginKind, manifest: PluginManifest, origin: PluginOrigin, packageName?: string): void {
    const source = packageName === undefined ? `The ${origin} ${KIND_WORDS[kind]} manifest` : `The default export of ${packageName}`;
    checkManifestShape(manifest, kind, source);
    checkManifestApiVersion(manifest, source);
    if (manifest.kind === 'driver') checkCapability(manifest, source);
    const key = manifestKey(manifest);
    this.assertFree(kind, key, packageName);
    this.entries[kind].set(key, { manifest, origin, ...(packageName === undefined ? {} : { packageName }) });
  }

  /** Check `type-free`; runs before a package's code is imported. */
  private assertFree(kind: PluginKind, key: string, packageName?: string): void {
    const held = this.entries[kind].get(key);
    if (held === undefined) return;
    const holder = held.packageName === undefined ? `the ${held.origin} ${KIND_WORDS[kind]}` : `package ${held.packageName}`;
    throw pluginCheckError('type-free', {
      message: `The ${KIND_WORDS[kind]} "${key}"${packageName === undefined ? '' : ` from package ${packageName}`} collides with ${holder} (origin: ${held.origin}), which is already registered`,
      hint: `Each ${kind === 'driver' ? 'type' : 'name'} is registered once: rename the plugin's ${kind === 'driver' ? 'type' : 'name'} or do not load both.`,
      details: { kind, type: key, heldBy: { origin: held.origin, packageName: held.packageName ?? null }, packageName: packageName ?? null },
    });
  }

  /** Concurrent loads of one package share one import and one registration. */
  private loadInspected(pkg: PluginPackage): Promise<PluginManifest> {
    let pending = this.loading.get(pkg.name);
    if (pending === undefined) {
      pending = this.importAndRegister(pkg).finally(() => this.loading.delete(pkg.name));
      this.loading.set(pkg.name, pending);
    }
    return pending;
  }

  private async importAndRegister(pkg: PluginPackage): Promise<PluginManifest> {
    const held = this.entries[pkg.kind].get(pkg.type);
    if (held !== undefined && held.packageName === pkg.name) return held.manifest;
    this.assertFree(pkg.kind, pkg.type, pkg.name);
    const manifest = await this.loader.importManifest(pkg);
    this.register(pkg.kind, manifest, 'package', pkg.name);
    this.logger.info(`loaded ${KIND_WORDS[pkg.kind]} plugin ${pkg.name}@${pkg.version}`, { type: pkg.type, dir: pkg.dir });
    return manifest;
  }

  private async instance(kind: PluginKind, key: string): Promise<NetworkDriver | IpamDriver> {
    const entry = this.entries[kind].get(key) ?? (await this.autoload(kind, key));
    if (entry.instance === undefined) {
      entry.instance = this.create(entry);
      entry.instance.catch(() => {
        entry.instance = undefined;
      });
    }
    return entry.instance;
  }

  private async create(entry: Entry): Promise<NetworkDriver | IpamDriver> {
    const { manifest } = entry;
    const key = manifestKey(manifest);
    const source = entry.packageName ?? `${KIND_WORDS[manifest.kind]} "${key}"`;
    let created: unknown;
    try {
      created = await manifest.create(this.depsFor(manifest.kind, key));
    } catch (cause) {
      if (isSwitchyardError(cause)) throw cause;
      throw new SwitchyardError('SWY_ERR_PLUGIN_LOAD_FAILED', `${source} failed to start: ${thrownMessage(cause)}`, {
        hint: "The driver's create() threw; see `cause`, and report it to the plugin's authors if it is not about your setup.",
        cause,
        details: { kind: manifest.kind, type: key },
      });
    }
    checkCreatedInstance(manifest, created, source);
    return created as NetworkDriver | IpamDriver;
  }

  private depsFor(kind: PluginKind, key: string): PluginDeps {
    const plugin = `${kind}:${key}`;
    const logger = this.logger;
    return {
      kernel: this.kernel,
      firewall: this.firewall,
      store: this.store,
      ...(this.globalStore === undefined ? {} : { globalStore: this.globalStore }),
      // Tag every line with the plugin it came from.
      logger: {
        debug: (m, f) => logger.debug(m, { plugin, ...f }),
        info: (m, f) => logger.info(m, { plugin, ...f }),
        warn: (m, f) => logger.warn(m, { plugin, ...f }),
      },
      stateDir: join(this.options.stateDir, kind === 'driver' ? 'drivers' : 'ipam', key),
    };
  }

  private async autoload(kind: PluginKind, key: string): Promise<Entry> {
    if (!this.options.autoloadPlugins || !isPluginType(key)) throw this.notFound(kind, key);
    await this.loadByConvention(kind, key, pluginPackageName(kind, key));
    const entry = this.entries[kind].get(key);
    if (entry === undefined) throw this.notFound(kind, key);
    return entry;
  }

  private async loadByConvention(kind: PluginKind, key: string, packageName: string): Promise<PluginManifest> {
    let pkg: PluginPackage;
    try {
      pkg = this.loader.inspect(packageName, kind);
    } catch (e) {
      if (isSwitchyardError(e, 'SWY_ERR_PLUGIN_NOT_FOUND')) throw this.notFound(kind, key, e);
      throw e;
    }
    if (pkg.type !== key) {
      throw pluginCheckError('manifest-matches-package', {
        message: `Package ${packageName} declares ${kind === 'driver' ? 'type' : 'name'} "${pkg.type}", so it cannot provide "${key}"`,
        hint: `The package named for "${key}" must declare "switchyard": {"type": "${key}"}; report it to its authors.`,
        details: { package: packageName, declared: pkg.type, wanted: key },
      });
    }
    return this.loadInspected(pkg);
  }

  private notFound(kind: PluginKind, key: string, cause?: unknown): SwitchyardError {
    const registered = [...this.entries[kind].keys()].sort();
    const known = registered.length === 0 ? 'none' : registered.join(', ');
    const packageName = isPluginType(key) ? pluginPackageName(kind, key) : undefined;
    const off = this.options.autoloadPlugins ? '' : ' (plugin autoload is off)';
    return new SwitchyardError('SWY_ERR_DRIVER_NOT_FOUND', `No ${KIND_WORDS[kind]} "${key}" is registered${off}; registered: ${known}`, {
      hint:
        packageName === undefined
          ? `Use one of the registered ${kind === 'driver' ? 'types' : 'names'}: ${known}.`
          : `Install it: ${this.loader.installCommand(packageName)}${this.options.autoloadPlugins ? '' : ' (then load it by name)'}, or use a registered one: ${known}.`,
      cause,
      details: { kind, type: key, registered, ...(packageName === undefined ? {} : { package: packageName }) },
    });
  }
}
