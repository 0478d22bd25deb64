import { join } from 'node:path';
import { Lifecycle, rootContainer, type DependencyContainer } from './decorators.js';
import { TOKENS } from './tokens.js';
import type { ResolvedOptions } from './options.js';
import { NetworkController } from '../controller/network-controller.js';
import { SwitchyardEventBus } from '../events/events.js';
import { UnavailableFirewall } from '../firewall/unavailable-firewall.js';
import { DEFAULT_HOST_PORT_RANGE } from '../firewall/firewall-intents.js';
import { IproutesExecutor } from '../kernel/iproute2-executor.js';
import { NetlinkExecutor } from '../kernel/netlink/netlink-executor.js';
import { PluginRegistry } from '../registry/plugin-registry.js';
import { silentLogger, type Logger } from '../registry/logger.js';
import type { DriverManifest, IpamManifest } from '../registry/plugin.js';
import { SandboxFiles } from '../sandbox/sandbox-files.js';
import { FileStore } from '../store/file-store.js';
import type { Firewall } from '../spi/firewall.js';
import type { DnsService } from '../spi/dns.js';
import { NO_DNS } from '../controller/dns-hooks.js';
import type { Kernel } from '../spi/kernel.js';
import type { StateStore } from '../spi/state-store.js';
import type { GlobalStore } from '../spi/global-store.js';
import { openGlobalStoreOption, type GlobalStoreOption } from './global-store-option.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { untrustedDirectory } from '../registry/plugin-location.js';
import { quoteValue } from '../errors/quote-value.js';
import type { RetirementOptions } from '../controller/link-retirement.js';

/** Options for {@link createSwitchyard}. Every field is optional; the defaults give a production instance on this host (netlink executor, file store under `/var/lib/switchyard`, no firewall). */
export interface SwitchyardOptions {
  /** Root of Switchyard's state; default `$SWITCHYARD_STATE_DIR` or `/var/lib/switchyard`. */
  stateDir?: string;
  /** Where per-sandbox hosts/resolv.conf go; default `<stateDir>/run`. */
  runDir?: string;
  /**
   * Directory third-party plugins are resolved from (the embedding application's); default the current
   * working directory. `false`: none, only `pluginDir` (the CLI, which must never load code from wherever it runs).
   */
  appDir?: string | false;
  /** A second directory to resolve plugins from (the CLI uses `<stateDir>/plugins`). */
  pluginDir?: string;
  /** Load `switchyard-driver-<type>` on first use of an unknown type; default true. */
  autoloadPlugins?: boolean;
  /** The application's built-in drivers and IPAMs (listed with origin `builtin`; a plugin cannot take their type). */
  builtins?: {
    /** Built-in network drivers. */
    drivers?: DriverManifest[];
    /** Built-in IPAM drivers. */
    ipams?: IpamManifest[];
  };
  /** Drivers: manifest objects (your own) or npm package names. */
  drivers?: Array<DriverManifest | string>;
  /**
   * IPAM drivers: manifest objects or npm package names. The default IPAM, `host-local`, need not be
   * listed: unless one of that name is registered, it is loaded from `@switchyard/ipam-host-local` on first use.
   */
  ipams?: Array<IpamManifest | string>;
  /**
   * Which built-in kernel executor to use when `kernel` is not given: `netlink` (default; rtnetlink
   * through koffi, ~1 ms per attach) or `iproute2` (spawns `ip -batch`, ~6 ms; the reference).
   */
  executor?: 'netlink' | 'iproute2';
  /** Replace a port (tests pass FakeKernel and MemoryStore). */
  kernel?: Kernel;
  /** Replace the state store (default: a {@link FileStore} under `stateDir`); tests pass a `MemoryStore`. */
  store?: StateStore;
  /**
   * The cluster's store for networks that span hosts (`overlay`, `routed`, the `global` IPAM): a
   * {@link GlobalStore}, or `{ etcd: { endpoints, hostName?, tls?, ... } }` to open `@switchyard/store-etcd`
   * (resolved from `appDir`). Local-scope objects stay in `store`. Default none: global drivers refuse.
   */
  globalStore?: GlobalStoreOption;
  /** The firewall backend (`@switchyard/firewall-nftables`); default `none` (no masquerade, no published ports). */
  firewall?: Firewall;
  /** The DNS responder service (`createDnsService` of `@switchyard/dns`); default none: networks get no DNS unless one is given. */
  dns?: DnsService;
  /** Where automatic host ports (host port 0 / `-p 80`) come from; default 49152-65535. */
  hostPortRange?: [number, number];
  /** Where warnings and debug output go; default {@link silentLogger}. */
  logger?: Logger;
  /** fsync every state document (default true); false trades crash durability for speed. */
  durable?: boolean;
  /** Roll back operations a dead process left half done; default true. */
  recover?: boolean;
  /**
   * `deferred` (default): a disconnect takes its links down and out of the way at once and they are deleted
   * in batches shortly after (one kernel call for many: deleting a veth pair alone costs ~20 ms); `settle()`
   * and `close()` wait for them. An object tunes the batches: deleted `delayMs` (default 50) after the last
   * disconnect, or at once when `maxBatch` (default 64) wait. `immediate`: each disconnect deletes its links
   * before it returns.
   */
  linkDeletion?: 'deferred' | 'immediate' | Partial<RetirementOptions>;
}

/** One Switchyard instance: its own DI container, store, registry and controller. */
export interface Switchyard {
  /** The controller: create and delete networks and sandboxes, connect and disconnect them. */
  readonly controller: NetworkController;
  /** The registry of drivers and IPAM drivers this instance uses (built-in, registered and loaded plugins). */
  readonly registry: PluginRegistry;
  /** Events the controller emits as objects are created, connected and removed. */
  readonly events: SwitchyardEventBus;
  /** The kernel executor in use (netlink, iproute2, or the one given in the options). */
  readonly kernel: Kernel;
  /** The state store in use. */
  readonly store: StateStore;
  /** The global store in use, when the instance has one. */
  readonly globalStore?: GlobalStore;
  /** The options with every default filled in. */
  readonly options: ResolvedOptions;
  /** This instance's DI container (a child of the root container), for advanced wiring. */
  readonly container: DependencyContainer;
  /** Deletes now the links disconnects retired for a later batch (`controller.settle()`). */
  settle(): Promise<void>;
  /** Releases the instance: deletes retired links, closes the store and the kernel executor's socket and disposes the container. Networks and sandboxes stay; use the instance no more afterwards. */
  close(): Promise<void>;
}

/**
 * The composition root: every registration lives here, in a child container per instance, so two
 * instances in one process never share state. Nothing registers itself on import.
 */
export async function createSwitchyard(options: SwitchyardOptions = {}): Promise<Switchyard> {
  const stateDir = options.stateDir ?? FileStore.defaultStateDir();
  const linkDeletion = assertLinkDeletion(options.linkDeletion);
  const resolved: ResolvedOptions = {
    stateDir,
    runDir: options.runDir ?? join(stateDir, 'run'),
    ...(options.appDir === false ? {} : { appDir: options.appDir ?? process.cwd() }),
    ...(options.pluginDir ? { pluginDir: options.pluginDir } : {}),
    autoloadPlugins: options.autoloadPlugins ?? true,
    hostPortRange: assertPortRange(options.hostPortRange ?? DEFAULT_HOST_PORT_RANGE),
    ...(linkDeletion === undefined ? {} : { linkDeletion }),
  };
  // Whoever can write where state or plugins live can make a root process do their bidding: refuse such places before anything is read.
  if (!options.store) assertSafeDirectory(stateDir, 'SWY_ERR_STATE_DIR_UNSAFE', 'state directory');
  if (resolved.pluginDir) assertSafeDirectory(resolved.pluginDir, 'SWY_ERR_PLUGIN_UNTRUSTED', 'plugin directory');
  const cluster = options.globalStore === undefined ? undefined : await openGlobalStoreOption(options.globalStore, resolved.appDir);
  const c = rootContainer.createChildContainer();
  const scoped = { lifecycle: Lifecycle.ContainerScoped };
  c.register(TOKENS.Options, { useValue: resolved });
  const logger = options.logger ?? silentLogger;
  c.register(TOKENS.Logger, { useValue: logger });
  c.register(TOKENS.Events, { useValue: new SwitchyardEventBus() });
  c.register(TOKENS.SandboxFiles, { useValue: new SandboxFiles(resolved.runDir) });
  c.register(TOKENS.StateStore, { useValue: options.store ?? new FileStore({ stateDir, durable: options.durable ?? true, onLockWait: (message) => logger.warn(message) }) });
  if (options.kernel) c.register(TOKENS.Kernel, { useValue: options.kernel });
  else if (options.executor === 'iproute2') c.register(TOKENS.Kernel, { useClass: IproutesExecutor }, scoped);
  else c.register(TOKENS.Kernel, { useClass: NetlinkExecutor }, scoped);
  if (options.firewall) c.register(TOKENS.Firewall, { useValue: options.firewall });
  else c.register(TOKENS.Firewall, { useClass: UnavailableFirewall }, scoped);
  c.register(TOKENS.Dns, { useValue: options.dns ?? NO_DNS });
  if (cluster) c.register(TOKENS.GlobalStore, { useValue: cluster });
  c.register(TOKENS.DriverRegistry, { useClass: PluginRegistry }, scoped);
  c.register(NetworkController, { useClass: NetworkController }, scoped);

  // Registrations are complete; only now is anything resolved.
  const registry = c.resolve<PluginRegistry>(TOKENS.DriverRegistry);
  if (cluster) registry.useGlobalStore(cluster);
  for (const d of options.builtins?.drivers ?? []) registry.registerDriver(d, 'builtin');
  for (const i of options.builtins?.ipams ?? []) registry.registerIpam(i, 'builtin');
  for (const d of options.drivers ?? []) {
    if (typeof d === 'string') await registry.loadPackage(d, 'driver');
    else registry.registerDriver(d, 'object');
  }
  for (const i of options.ipams ?? []) {
    if (typeof i === 'string') await registry.loadPackage(i, 'ipam');
    else registry.registerIpam(i, 'object');
  }
  const controller = c.resolve(NetworkController);
  const store = c.resolve<StateStore>(TOKENS.StateStore);
  const kernel = c.resolve<Kernel>(TOKENS.Kernel);
  if (options.recover !== false) await controller.recover();
  return {
    controller,
    registry,
    events: c.resolve<SwitchyardEventBus>(TOKENS.Events),
    kernel,
    store,
    ...(cluster ? { globalStore: cluster } : {}),
    options: resolved,
    container: c,
    settle: () => controller.settle(),
    async close() {
      await controller.settle();
      await store.close();
      if (cluster) await cluster.close();
      // The netlink executor holds a socket in the host namespace.
      (kernel as Kernel & { close?: () => void }).close?.();
      await c.dispose();
    },
  };
}

function assertSafeDirectory(dir: string, code: 'SWY_ERR_STATE_DIR_UNSAFE' | 'SWY_ERR_PLUGIN_UNTRUSTED', what: string): void {
  const why = untrustedDirectory(dir);
  if (why === undefined) return;
  throw new SwitchyardError(code, `The ${what} ${dir} is not safe to use: ${why}`, {
    hint: `Make it and every directory above it owned by root (or this user) and writable by no one else, e.g. chown root: ${dir} && chmod 0700 ${dir}.`,
    details: { path: dir, reason: why },
  });
}

function assertPortRange(range: readonly [number, number]): readonly [number, number] {
  const [low, high] = range;
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high) {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Host port range ${JSON.stringify(range)} is not two ports from 1 to 65535, lowest first`, {
      hint: 'Give hostPortRange as [first, last], e.g. [49152, 65535].',
    });
  }
  return [low, high];
}

function assertLinkDeletion(value: SwitchyardOptions['linkDeletion']): ResolvedOptions['linkDeletion'] {
  if (value === undefined || value === 'deferred') return undefined;
  if (value === 'immediate') return value;
  const bad = (why: string): never => {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `linkDeletion ${quoteValue(value)} ${why}`, {
      hint: 'Give "deferred" (the default), "immediate", or { delayMs: 0 or more, maxBatch: 1 or more }.',
    });
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('is not "deferred", "immediate" or an object');
  const extra = Object.keys(value).filter((k) => k !== 'delayMs' && k !== 'maxBatch');
  if (extra.length > 0) bad(`has unknown key(s) ${extra.join(', ')}`);
  if (value.delayMs !== undefined && !(Number.isFinite(value.delayMs) && value.delayMs >= 0)) bad('has a delayMs that is not a number of milliseconds, 0 or more');
  if (value.maxBatch !== undefined && !(Number.isSafeInteger(value.maxBatch) && value.maxBatch >= 1)) bad('has a maxBatch that is not a whole number, 1 or more');
  return { ...(value.delayMs === undefined ? {} : { delayMs: value.delayMs }), ...(value.maxBatch === undefined ? {} : { maxBatch: value.maxBatch }) };
}
