import { SwitchyardError } from '@switchyard/core';
import { isJsonObject } from './config.js';
import type { PluginOutput } from './exec.js';

/** A command a plugin was run with. */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** Names of the spec's well-known error codes, for messages. */
const CODE_NAMES: Record<number, string> = {
  1: 'incompatible CNI version',
  2: 'unsupported field in network configuration',
  3: 'container unknown or does not exist',
  4: 'invalid necessary environment variables',
  5: 'I/O failure',
  6: 'failed to decode content',
  7: 'invalid network config',
  11: 'try again later',
  50: 'plugin not available',
  51: 'plugin not available, limited connectivity',
};

/**
 * A plugin's failure as a SwitchyardError: its CNI error object (`code`, `msg`, `details`) when it printed
 * one, else its stderr or exit status. The plugin's own words go into the hint.
 */
export function pluginError(plugin: string, command: CniCommand, network: string, output: PluginOutput): SwitchyardError {
  let code: number | undefined;
  let msg: string | undefined;
  let details: string | undefined;
  try {
    const parsed: unknown = JSON.parse(output.stdout);
    if (isJsonObject(parsed)) {
      if (typeof parsed.code === 'number') code = parsed.code;
      if (typeof parsed.msg === 'string') msg = parsed.msg;
      if (typeof parsed.details === 'string' && parsed.details.length > 0) details = parsed.details;
    }
  } catch {
    // Not an error object: the plugin's stderr speaks for it.
  }
  const said = msg !== undefined ? `${msg}${details ? ` (${details})` : ''}` : output.stderr.trim() || output.stdout.trim() || `exit status ${output.exitCode}`;
  const kind = code !== undefined ? ` [CNI code ${code}${CODE_NAMES[code] ? `: ${CODE_NAMES[code]}` : ''}]` : '';
  return new SwitchyardError('SWY_ERR_CNI_PLUGIN_FAILED', `CNI plugin "${plugin}" failed ${command} on network "${network}"${kind}`, {
    hint: `The plugin said: ${said}`,
    details: { plugin, command, network, ...(code !== undefined ? { cniCode: code } : {}), ...(msg !== undefined ? { msg } : {}), ...(details !== undefined ? { cniDetails: details } : {}), exitCode: output.exitCode },
  });
}

/** A plugin answered 0 but with something that is not the JSON it owes. */
export function badAnswer(plugin: string, command: CniCommand, network: string, problem: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_CNI_PLUGIN_FAILED', `CNI plugin "${plugin}" answered ${command} on network "${network}" with ${problem}`, {
    hint: 'The plugin does not follow the CNI spec for this version; check its version and the config.',
    details: { plugin, command, network },
  });
}
