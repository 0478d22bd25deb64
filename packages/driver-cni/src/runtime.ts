import { SwitchyardError, type Json, type JsonObject } from '@switchyard/core';
import { isJsonObject, parseConf, pluginStdin, confListJson, type ConfList, type PluginConf } from './config.js';
import { badAnswer, pluginError, type CniCommand } from './errors.js';
import { findPlugin, type PluginRunner } from './exec.js';
import { ResultCache } from './cache.js';
import { atLeast, negotiateVersion, type PluginVersions } from './versions.js';

/** One attachment's runtime arguments (libcni's RuntimeConf). */
export interface RuntimeConf {
  /** The container id (`CNI_CONTAINERID`): Switchyard's endpoint id. */
  containerId: string;
  /** The sandbox's namespace path; empty when it is gone (DEL and GC only). */
  netns: string;
  /** The interface name inside the sandbox (`CNI_IFNAME`). */
  ifName: string;
  /** CNI_ARGS, in order. */
  args: Array<[string, string]>;
  /** Capability arguments; each plugin gets those it declares, as `runtimeConfig`. */
  capabilityArgs: JsonObject;
}

/** An attachment GC must keep (`cni.dev/valid-attachments`). */
export interface GcAttachment {
  /** The attachment's container id. */
  containerID: string;
  /** The attachment's interface name. */
  ifname: string;
}

/**
 * What libcni does for a runtime, over a configuration list: ADD through the chain with `prevResult`,
 * DEL in reverse, CHECK and GC, the result cache, version negotiation through VERSION. Plugins run
 * through the `PluginRunner` port.
 */
export class CniRuntime {
  constructor(
    private readonly cniPath: readonly string[],
    private readonly cache: ResultCache,
    private readonly run: PluginRunner,
  ) {}

  /** Runs one plugin; returns its parsed stdout for commands that answer with JSON. */
  private async exec(list: ConfList, plugin: PluginConf, command: CniCommand, rt: RuntimeConf | undefined, stdin: JsonObject): Promise<JsonObject | undefined> {
    const path = findPlugin(plugin.type, this.cniPath);
    const env: Record<string, string> = { CNI_COMMAND: command, CNI_PATH: this.cniPath.join(':') };
    if (rt) {
      env.CNI_CONTAINERID = rt.containerId;
      env.CNI_NETNS = rt.netns;
      env.CNI_IFNAME = rt.ifName;
      env.CNI_ARGS = rt.args.map(([k, v]) => `${k}=${v}`).join(';');
    }
    const output = await this.run(path, env, JSON.stringify(stdin));
    if (output.exitCode !== 0) throw pluginError(plugin.type, command, list.name, output);
    if (command !== 'ADD' && command !== 'VERSION') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(output.stdout);
    } catch {
      throw badAnswer(plugin.type, command, list.name, `no JSON (${JSON.stringify(output.stdout.slice(0, 200))})`);
    }
    if (!isJsonObject(parsed)) throw badAnswer(plugin.type, command, list.name, 'JSON that is not an object');
    return parsed;
  }

  /** Asks each distinct plugin of the list which versions it supports. */
  async versions(list: ConfList): Promise<PluginVersions[]> {
    const seen = new Map<string, PluginVersions>();
    for (const plugin of list.plugins) {
      if (seen.has(plugin.type)) continue;
      const answer = await this.exec(list, plugin, 'VERSION', undefined, { cniVersion: list.cniVersion });
      const supported = answer?.supportedVersions;
      if (!Array.isArray(supported) || !supported.every((v): v is string => typeof v === 'string')) throw badAnswer(plugin.type, 'VERSION', list.name, 'no supportedVersions list');
      seen.set(plugin.type, { plugin: plugin.type, supported });
    }
    return [...seen.values()];
  }

  /** The version to run the list in: the config's, if every plugin supports it (or the best of its cniVersions). */
  async negotiate(list: ConfList): Promise<string> {
    return negotiateVersion(list, await this.versions(list));
  }

  /**
   * ADD through the chain, each plugin getting the previous one's result. A failure runs DEL of the whole
   * chain (reverse order, with the last result) so nothing stays, then throws the ADD's error. The cache
   * names the attachment before the first plugin runs (a crash leaves it for DEL or GC), and keeps the
   * final result after the last.
   */
  async add(list: ConfList, cniVersion: string, rt: RuntimeConf, networkId: string): Promise<JsonObject> {
    const entry = { kind: 'cniCacheV1' as const, networkId, networkName: list.name, containerId: rt.containerId, ifName: rt.ifName, config: confListJson(list), cniVersion, cniArgs: rt.args, capabilityArgs: rt.capabilityArgs };
    this.cache.put(entry);
    let prev: JsonObject | undefined;
    try {
      for (const plugin of list.plugins) {
        prev = await this.exec(list, plugin, 'ADD', rt, pluginStdin(list, plugin, cniVersion, rt.capabilityArgs, prev));
      }
    } catch (error) {
      try {
        await this.del(list, cniVersion, rt, prev);
        this.cache.delete(list.name, rt.containerId, rt.ifName);
      } catch (undo) {
        // The ADD's error is the one to report; the attachment stays cached for a later DEL or GC.
        if (error instanceof SwitchyardError && error.details) error.details.rollback = undo instanceof Error ? undo.message : String(undo);
      }
      throw error;
    }
    if (prev === undefined) throw badAnswer(list.plugins[0]?.type ?? '?', 'ADD', list.name, 'nothing');
    this.cache.put({ ...entry, result: prev });
    return prev;
  }

  /** DEL through the chain in reverse (libcni: stops at the first failure, so a retry runs it again). */
  async del(list: ConfList, cniVersion: string, rt: RuntimeConf, prevResult: JsonObject | undefined): Promise<void> {
    // prevResult on DEL arrived with 0.4.0.
    const prev = atLeast(cniVersion, '0.4.0') ? prevResult : undefined;
    for (const plugin of [...list.plugins].reverse()) {
      await this.exec(list, plugin, 'DEL', rt, pluginStdin(list, plugin, cniVersion, rt.capabilityArgs, prev));
    }
  }

  /**
   * DEL of an attachment with what its ADD ran with (the cached list, version, CNI_ARGS, capability
   * arguments and result) when the cache has it, else with `list`; the cache entry goes once DEL succeeded.
   */
  async delAttachment(list: ConfList, cniVersion: string, rt: RuntimeConf): Promise<void> {
    const entry = this.cache.get(list.name, rt.containerId, rt.ifName);
    const cachedList = entry ? parseConf(entry.config, `cached for ${rt.containerId}`) : list;
    await this.del(cachedList, entry?.cniVersion ?? cniVersion, entry ? { ...rt, args: entry.cniArgs, capabilityArgs: entry.capabilityArgs } : rt, entry?.result);
    this.cache.delete(list.name, rt.containerId, rt.ifName);
  }

  /** CHECK through the chain with the cached result; false when the list disables it. */
  async check(list: ConfList, cniVersion: string, rt: RuntimeConf): Promise<boolean> {
    if (!atLeast(cniVersion, '0.4.0')) {
      throw new SwitchyardError('SWY_ERR_CNI_VERSION_UNSUPPORTED', `CNI network "${list.name}" runs version ${cniVersion}, which has no CHECK`, { hint: 'CHECK needs cniVersion 0.4.0 or newer.' });
    }
    if (list.disableCheck) return false;
    const entry = this.cache.get(list.name, rt.containerId, rt.ifName);
    if (!entry?.result) {
      throw new SwitchyardError('SWY_ERR_ENDPOINT_NOT_FOUND', `CNI network "${list.name}" has no cached ADD result for container ${rt.containerId} interface ${rt.ifName}`, {
        hint: 'The attachment was never completed, or its cache was removed; disconnect and connect again.',
      });
    }
    const cachedList = parseConf(entry.config, `cached for ${rt.containerId}`);
    for (const plugin of cachedList.plugins) {
      await this.exec(cachedList, plugin, 'CHECK', { ...rt, args: entry.cniArgs, capabilityArgs: entry.capabilityArgs }, pluginStdin(cachedList, plugin, entry.cniVersion, entry.capabilityArgs, entry.result));
    }
    return true;
  }

  /**
   * STATUS of every plugin of the list (CNI 1.1.0 on), as libcni asks it: resolves when each can take an
   * ADD, throws the first plugin's error (codes 50, 51) otherwise. Before 1.1.0 there is no STATUS: false.
   */
  async status(list: ConfList, cniVersion: string): Promise<boolean> {
    if (!atLeast(cniVersion, '1.1.0')) return false;
    for (const plugin of list.plugins) {
      const { runtimeConfig: _dropped, prevResult: _none, ...own } = plugin;
      await this.exec(list, plugin, 'STATUS', undefined, { ...own, name: list.name, cniVersion });
    }
    return true;
  }

  /**
   * libcni's GC for one Switchyard network: DEL of every cached attachment of it that `valid` does not
   * list (without a namespace: its path may belong to another sandbox by now), then, from CNI 1.1.0 on, GC
   * of every plugin with `cni.dev/valid-attachments` (which also lists other Switchyard networks' cached
   * attachments under the same CNI name, since they share the plugins' state). Nothing when the list has
   * `disableGC`. Returns the attachments removed, as `<cni name>/<container id>/<ifname>`.
   */
  async gc(list: ConfList, cniVersion: string, networkId: string, valid: GcAttachment[]): Promise<string[]> {
    if (list.disableGC) return [];
    const keep = new Set(valid.map((a) => `${a.containerID}/${a.ifname}`));
    const removed: string[] = [];
    const failures: unknown[] = [];
    const cached = this.cache.list(list.name);
    for (const entry of cached) {
      if (entry.networkId !== networkId || keep.has(`${entry.containerId}/${entry.ifName}`)) continue;
      try {
        await this.delAttachment(list, cniVersion, { containerId: entry.containerId, netns: '', ifName: entry.ifName, args: entry.cniArgs, capabilityArgs: entry.capabilityArgs });
        removed.push(`${list.name}/${entry.containerId}/${entry.ifName}`);
      } catch (error) {
        failures.push(error);
      }
    }
    if (atLeast(cniVersion, '1.1.0')) {
      const others = cached.filter((e) => e.networkId !== networkId).map((e): GcAttachment => ({ containerID: e.containerId, ifname: e.ifName }));
      const attachments: Json[] = [...valid, ...others].map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
      for (const plugin of list.plugins) {
        const { runtimeConfig: _dropped, prevResult: _none, ...own } = plugin;
        try {
          await this.exec(list, plugin, 'GC', undefined, { ...own, name: list.name, cniVersion, 'cni.dev/valid-attachments': attachments });
        } catch (error) {
          failures.push(error);
        }
      }
    }
    if (failures.length > 0) {
      if (failures.length === 1 && failures[0] instanceof SwitchyardError) throw failures[0];
      throw new SwitchyardError('SWY_ERR_CNI_PLUGIN_FAILED', `GC of CNI network "${list.name}": ${failures.length} step(s) failed`, {
        hint: failures.map((f) => (f instanceof SwitchyardError ? `${f.message}: ${f.hint ?? ''}` : String(f))).join('; '),
        cause: new AggregateError(failures),
      });
    }
    return removed;
  }
}
