/**
 * What the plugin executable loads first: the protocol layer only. VERSION, and environment or config
 * errors, are answered without loading Switchyard (core and the drivers cost ~4x Node's own start); the
 * handlers of the other commands load it on first use.
 */
import { CNI_ERROR_CODES, CniError } from './protocol/errors.js';
import { runPlugin, type PluginHandlers, type PluginOutput } from './protocol/run.js';

/** The plugin names (the reference plugin's, prefixed) and the Switchyard driver each drives. */
export const CNI_PLUGIN_DRIVERS: Readonly<Record<string, string>> = {
  'switchyard-bridge': 'bridge',
  'switchyard-ptp': 'veth',
  'switchyard-macvlan': 'macvlan',
  'switchyard-ipvlan': 'ipvlan',
};

/** The IPAM plugins: they load the host-local store only, not Switchyard. */
export const CNI_IPAM_PLUGINS: readonly string[] = ['switchyard-host-local'];

/** Every plugin `switchyard cni install` puts into a CNI bin directory. */
export const CNI_PLUGINS: readonly string[] = [...Object.keys(CNI_PLUGIN_DRIVERS), ...CNI_IPAM_PLUGINS];

/** One invocation of the plugin `name`, from the environment and stdin a runtime gives it. */
export async function runCniExecutable(name: string, env: Record<string, string | undefined>, stdin: string): Promise<PluginOutput> {
  if (!CNI_PLUGINS.includes(name)) {
    const error = new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, `no Switchyard CNI plugin is named ${JSON.stringify(name)}`, `known: ${CNI_PLUGINS.join(', ')}`);
    return { stdout: JSON.stringify(error.toJSON('1.1.0')), exitCode: 1 };
  }
  let loaded: Promise<PluginHandlers> | undefined;
  const load = (): Promise<PluginHandlers> => (CNI_IPAM_PLUGINS.includes(name) ? import('./host-local.js').then((m) => m.hostLocalPlugin()) : import('./executable.js').then((m) => m.handlersFor(name, env)));
  const real = () => (loaded ??= load());
  const handlers: PluginHandlers = {
    add: async (ctx) => (await real()).add(ctx),
    del: async (ctx) => (await real()).del(ctx),
    check: async (ctx) => (await real()).check(ctx),
    status: async (ctx) => (await real()).status?.(ctx),
    gc: async (ctx) => (await real()).gc?.(ctx),
  };
  return runPlugin(handlers, { env, stdin });
}
