import type { PluginDeps } from '@switchyard/core';

/** ptp-lite never touches its ports, so placeholders are enough outside the conformance suite. */
export function makeDeps(): PluginDeps {
  const quiet = { debug() {}, info() {}, warn() {} };
  return { kernel: {} as PluginDeps['kernel'], firewall: {} as PluginDeps['firewall'], store: {} as PluginDeps['store'], logger: quiet, stateDir: '/nonexistent' };
}
