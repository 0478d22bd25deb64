/** Every DI token in one place. Interfaces have no runtime identity, so each port gets a symbol. */
export const TOKENS = {
  /** The resolved options (`ResolvedOptions`). */
  Options: Symbol.for('switchyard.Options'),
  /** The {@link Kernel} executor. */
  Kernel: Symbol.for('switchyard.Kernel'),
  /** The {@link StateStore}. */
  StateStore: Symbol.for('switchyard.StateStore'),
  /** The cluster's {@link GlobalStore}, when the instance has one (`globalStore` option); unregistered otherwise. */
  GlobalStore: Symbol.for('switchyard.GlobalStore'),
  /** The {@link Firewall} backend. */
  Firewall: Symbol.for('switchyard.Firewall'),
  /** The {@link DnsService} (`NO_DNS` when the instance has none). */
  Dns: Symbol.for('switchyard.Dns'),
  /** The {@link Logger}. */
  Logger: Symbol.for('switchyard.Logger'),
  /** The {@link SwitchyardEventBus}. */
  Events: Symbol.for('switchyard.Events'),
  /** The {@link PluginRegistry} holding network drivers. */
  DriverRegistry: Symbol.for('switchyard.DriverRegistry'),
  /** Reserved for a separate IPAM registry; nothing registers it today (IPAM drivers live in the `DriverRegistry`). */
  IpamRegistry: Symbol.for('switchyard.IpamRegistry'),
  /** The {@link SandboxFiles} writer for per-sandbox hosts and resolv.conf files. */
  SandboxFiles: Symbol.for('switchyard.SandboxFiles'),
  /** Reserved for an injectable clock; nothing registers it today. */
  Clock: Symbol.for('switchyard.Clock'),
} as const;
