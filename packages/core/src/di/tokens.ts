/** Every DI token in one place. Interfaces have no runtime identity, so each port gets a symbol. */
export const TOKENS = {
  Options: Symbol.for('switchyard.Options'),
  Kernel: Symbol.for('switchyard.Kernel'),
  StateStore: Symbol.for('switchyard.StateStore'),
  Firewall: Symbol.for('switchyard.Firewall'),
  Logger: Symbol.for('switchyard.Logger'),
  Events: Symbol.for('switchyard.Events'),
  DriverRegistry: Symbol.for('switchyard.DriverRegistry'),
  IpamRegistry: Symbol.for('switchyard.IpamRegistry'),
  SandboxFiles: Symbol.for('switchyard.SandboxFiles'),
  Clock: Symbol.for('switchyard.Clock'),
} as const;
