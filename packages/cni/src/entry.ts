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

/** One invocation of the plugin `name`, from the environment and stdin a runtime gives it. */
export async function runCniExecutable(name: string, env: Record<string, string | undefined>, stdin: string): Promise<PluginOutput> {
  if (CNI_PLUGIN_DRIVERS[name] === undefined) {
    const error = new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, `no Switchyard CNI plugin is named ${JSON.stringify(name)}`, `known: ${Object.keys(CNI_PLUGIN_DRIVERS).join(', ')}`);
    return { stdout: JSON.stringify(error.toJSON('1.1.0')), exitCode: 1 };
  }
  let loaded: Promise<PluginHandlers> | undefined;
  const real = () => (loaded ??= import('./executable.js').then((m) => m.handlersFor(name, env)));
  const handlers: PluginHandlers = {
    add: async (ctx) => (await real()).add(ctx),
    del: async (ctx) => (await real()).del(ctx),
    check: async (ctx) => (await real()).check(ctx),
    status: async (ctx) => (await real()).status?.(ctx),
    gc: async (ctx) => (await real()).gc?.(ctx),
  };
  return runPlugin(handlers, { env, stdin });
}
