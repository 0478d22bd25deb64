/**
 * The plugin executables: one entry point, told which plugin it is by `--plugin NAME` (the wrappers
 * `switchyard cni install` writes) or by the name it runs under. Each opens Switchyard on the same state
 * dir as the CLI (SWITCHYARD_STATE_DIR, default /var/lib/switchyard) with the built-in drivers and the
 * nftables firewall, runs one CNI command and closes it.
 */
import { join } from 'node:path';
import { consoleLogger, createSwitchyard, type EndpointRecord, type NetworkRecord, type Switchyard } from '@switchyard/core';
import { hostVethName } from '@switchyard/driver-bridge';
import { BUILTIN_DRIVERS, BUILTIN_IPAMS } from './builtins.js';
import { CNI_PLUGIN_DRIVERS } from './entry.js';
import { switchyardPlugin } from './plugin.js';
import type { CniInterface } from './protocol/result.js';
import type { PluginHandlers } from './protocol/run.js';

/** Per plugin, the host-side interfaces its ADD result lists before the container's (as the reference plugin does). */
const HOST_INTERFACES: Readonly<Record<string, (network: NetworkRecord, endpoint: EndpointRecord) => CniInterface[]>> = {
  // The bridge, then the veth's host end (the meta plugins after us, bandwidth among them, look for it there).
  'switchyard-bridge': (n, e) => [...(typeof n.driverState.bridge === 'string' ? [{ name: n.driverState.bridge }] : []), { name: e.bridgePort ?? hostVethName(e.id) }],
  'switchyard-ptp': (_n, e) => (e.hostInterface ? [{ name: e.hostInterface }] : []),
};

/** Switchyard as the CLI opens it for a change, from the environment a runtime passes (or does not). */
export async function openForCni(env: Record<string, string | undefined>): Promise<Switchyard> {
  const stateDir = env.SWITCHYARD_STATE_DIR || '/var/lib/switchyard';
  const wanted = env.SWITCHYARD_FIREWALL;
  const firewall = wanted === 'none' ? undefined : (await import('@switchyard/firewall-nftables')).detectNftablesFirewall(wanted === 'nft' ? 'nft' : 'libnftables');
  return createSwitchyard({
    stateDir,
    appDir: false,
    pluginDir: join(stateDir, 'plugins'),
    builtins: { drivers: [...BUILTIN_DRIVERS], ipams: [...BUILTIN_IPAMS] },
    ...(firewall ? { firewall } : {}),
    // stdout is the runtime's: only the result goes there.
    logger: consoleLogger('warn'),
  });
}

/** The handlers of plugin `name` (one of CNI_PLUGIN_DRIVERS), on Switchyard as the environment says to open it. */
export function handlersFor(name: string, env: Record<string, string | undefined>): PluginHandlers {
  const hostInterfaces = HOST_INTERFACES[name];
  return switchyardPlugin({ driver: CNI_PLUGIN_DRIVERS[name] ?? name, ...(hostInterfaces ? { hostInterfaces } : {}), open: () => openForCni(env) });
}
