import { readFileSync } from 'node:fs';
import { SwitchyardError, type Json, type JsonObject } from '@switchyard/core';

/** One plugin of a list: `type` names the binary; everything else passes through to it. */
export interface PluginConf extends JsonObject {
  /** The plugin's executable name, looked up on the CNI path. */
  type: string;
}

/** A network configuration list (a `.conf` is turned into a list of one, as libcni does). */
export interface ConfList {
  /** The list's CNI version (`x.y.z`), handed to every plugin. */
  cniVersion: string;
  /** Versions the list can be run in (CNI 1.1's `cniVersions`); the newest one the plugins speak is used. */
  cniVersions?: string[];
  /** The CNI network name. */
  name: string;
  /** Skip CHECK for this list (CNI's `disableCheck`); false when absent. */
  disableCheck: boolean;
  /** Skip GC for this list (CNI 1.1's `disableGC`); false when absent. */
  disableGC: boolean;
  /** The plugins, run in order on ADD and in reverse on DEL. */
  plugins: PluginConf[];
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(where: string, problem: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_CONFIG_INVALID', `CNI config ${where}: ${problem}`, {
    hint: 'Give a CNI network configuration (name, cniVersion, type) or a configuration list (name, cniVersion, plugins[]).',
  });
}

/** Reads a net.d file (`.conf`, `.conflist`, `.json`) into a list. */
export function loadConfFile(path: string): ConfList {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SwitchyardError('SWY_ERR_CONFIG_INVALID', `Cannot read CNI config ${path}: ${(error as Error).message}`, { hint: 'Give the path of a readable .conf or .conflist file.', cause: error });
  }
  return parseConf(text, path);
}

/** Parses a config or list given as JSON text or as an object. */
export function parseConf(input: string | JsonObject, where = 'given inline'): ConfList {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw invalid(where, `not JSON (${(error as Error).message})`);
    }
  }
  if (!isJsonObject(value)) throw invalid(where, 'not a JSON object');
  return normalizeConf(value, where);
}

function normalizeConf(raw: JsonObject, where: string): ConfList {
  const name = raw.name;
  if (typeof name !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) throw invalid(where, `"name" must be a network name (letters, digits, _ . -), got ${JSON.stringify(name ?? null)}`);
  const cniVersion = raw.cniVersion;
  if (typeof cniVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(cniVersion)) throw invalid(where, `"cniVersion" must be a version such as "1.0.0", got ${JSON.stringify(cniVersion ?? null)}`);
  const flag = (key: string): boolean => {
    const v = raw[key];
    if (v === undefined) return false;
    if (typeof v !== 'boolean') throw invalid(where, `"${key}" must be true or false`);
    return v;
  };
  let cniVersions: string[] | undefined;
  if (raw.cniVersions !== undefined) {
    if (!Array.isArray(raw.cniVersions) || !raw.cniVersions.every((v): v is string => typeof v === 'string' && /^\d+\.\d+\.\d+$/.test(v))) throw invalid(where, '"cniVersions" must be a list of versions');
    cniVersions = raw.cniVersions;
  }
  let plugins: Json[];
  if (raw.plugins !== undefined) {
    if (!Array.isArray(raw.plugins) || raw.plugins.length === 0) throw invalid(where, '"plugins" must be a non-empty list');
    plugins = raw.plugins;
  } else {
    // A single network configuration: a list of one, its own fields kept (libcni's ConfListFromConf).
    plugins = [raw];
  }
  const list: ConfList = { cniVersion, name, disableCheck: flag('disableCheck'), disableGC: flag('disableGC'), plugins: plugins.map((p, i) => pluginConf(p, `${where}, plugin ${i}`)) };
  if (cniVersions) list.cniVersions = cniVersions;
  return list;
}

function pluginConf(value: Json, where: string): PluginConf {
  if (!isJsonObject(value)) throw invalid(where, 'not a JSON object');
  const type = value.type;
  // A type is a file name in the CNI path, never a path.
  if (typeof type !== 'string' || !/^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/.test(type)) throw invalid(where, `"type" must name a plugin binary, got ${JSON.stringify(type ?? null)}`);
  if (value.capabilities !== undefined && !isJsonObject(value.capabilities)) throw invalid(where, '"capabilities" must be an object of booleans');
  return { ...value, type };
}

/** The list as JSON, for the network's options and the result cache. */
export function confListJson(list: ConfList): JsonObject {
  return {
    cniVersion: list.cniVersion,
    ...(list.cniVersions ? { cniVersions: list.cniVersions } : {}),
    name: list.name,
    disableCheck: list.disableCheck,
    disableGC: list.disableGC,
    plugins: list.plugins,
  };
}

/**
 * The stdin of one plugin, as libcni builds it: the plugin's own config with the list's `name` and the
 * negotiated `cniVersion`, `prevResult` when there is one, and `runtimeConfig` holding only the capability
 * arguments the plugin declares in `capabilities` (none at all when it declares none of them).
 */
export function pluginStdin(list: ConfList, plugin: PluginConf, cniVersion: string, capabilityArgs: JsonObject, prevResult?: JsonObject): JsonObject {
  const conf: JsonObject = { ...plugin, name: list.name, cniVersion };
  delete conf.prevResult;
  if (prevResult !== undefined) conf.prevResult = prevResult;
  const declared = isJsonObject(plugin.capabilities) ? plugin.capabilities : {};
  const runtimeConfig: JsonObject = {};
  for (const [capability, on] of Object.entries(declared)) {
    const value = capabilityArgs[capability];
    if (on === true && value !== undefined) runtimeConfig[capability] = value;
  }
  // As libcni: injected only when some declared capability has an argument (replacing a static one then).
  if (Object.keys(runtimeConfig).length > 0) conf.runtimeConfig = runtimeConfig;
  return conf;
}

/** Whether some plugin of the list declares a capability. */
export function declares(list: ConfList, capability: string): boolean {
  return list.plugins.some((p) => isJsonObject(p.capabilities) && p.capabilities[capability] === true);
}
