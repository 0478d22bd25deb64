/**
 * The plugin executables: one entry point, told which plugin it is by `--plugin NAME` (the wrappers
 * `switchyard cni install` writes) or by the name it runs under. Each opens Switchyard on the same state
 * dir as the CLI (SWITCHYARD_STATE_DIR, default /var/lib/switchyard) with the built-in drivers and the
 * nftables firewall, runs one CNI command and closes it.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { consoleLogger, createSwitchyard, type EndpointRecord, type NetworkRecord, type Switchyard } from '@switchyard/core';
import { BUILTIN_DRIVERS, BUILTIN_IPAMS } from './builtins.js';
import { switchyardPlugin } from './plugin.js';
import { CNI_ERROR_CODES, CniError } from './protocol/errors.js';
import type { CniInterface } from './protocol/result.js';
import { runPlugin, type PluginOutput } from './protocol/run.js';

/** The plugin names (the reference plugin's, prefixed) and the Switchyard driver each drives. */
export const CNI_PLUGINS: Readonly<Record<string, { driver: string; hostInterfaces: (network: NetworkRecord, endpoint: EndpointRecord) => CniInterface[] }>> = {
  'switchyard-bridge': { driver: 'bridge', hostInterfaces: (n, e) => [...(typeof n.driverState.bridge === 'string' ? [{ name: n.driverState.bridge }] : []), ...(e.bridgePort ? [{ name: e.bridgePort }] : [])] },
  'switchyard-ptp': { driver: 'veth', hostInterfaces: (_n, e) => (e.hostInterface ? [{ name: e.hostInterface }] : []) },
  'switchyard-macvlan': { driver: 'macvlan', hostInterfaces: () => [] },
  'switchyard-ipvlan': { driver: 'ipvlan', hostInterfaces: () => [] },
};

/** The entry script the wrappers run. */
export const CNI_ENTRY = fileURLToPath(new URL('../bin/switchyard-cni.js', import.meta.url));

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

/** One invocation of the plugin `name`. */
export async function runCniExecutable(name: string, env: Record<string, string | undefined>, stdin: string): Promise<PluginOutput> {
  const plugin = CNI_PLUGINS[name];
  if (!plugin) {
    const error = new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, `no Switchyard CNI plugin is named ${JSON.stringify(name)}`, `known: ${Object.keys(CNI_PLUGINS).join(', ')}`);
    return { stdout: JSON.stringify(error.toJSON('1.1.0')), exitCode: 1 };
  }
  return runPlugin(switchyardPlugin({ driver: plugin.driver, hostInterfaces: plugin.hostInterfaces, open: () => openForCni(env) }), { env, stdin });
}
