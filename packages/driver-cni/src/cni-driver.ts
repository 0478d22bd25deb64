import {
  HOST_NS,
  SwitchyardError,
  type AttachRequest,
  type AttachResult,
  type DriverEndpoint,
  type DriverNetwork,
  type DriverSandbox,
  type Json,
  type JsonObject,
  type Kernel,
  type NetnsRef,
  type NetworkDriver,
  type NetworkPlan,
} from '@switchyard/core';
import { confListJson, declares, isJsonObject, loadConfFile, parseConf, type ConfList } from './config.js';
import { splitPath, type PluginRunner } from './exec.js';
import { ResultCache } from './cache.js';
import { attachmentFacts } from './result.js';
import { CniRuntime, type RuntimeConf } from './runtime.js';

/** The network type of the default cni driver. */
export const CNI_DRIVER_TYPE = 'cni';
/** Where plugins are looked for unless the driver or the network says otherwise (libcni's usual and Debian's). */
export const DEFAULT_CNI_PATH = '/opt/cni/bin:/usr/lib/cni';

/** How the driver itself is set up (by whoever registers it). */
export interface CniDriverSettings {
  /** `:`-separated plugin directories; a network's `cniPath` option overrides it. */
  cniPath?: string;
  /** Directory of the result cache (`<dir>/results`); default the driver's state dir. */
  cacheDir?: string;
  /** Where named namespaces live (their path is CNI_NETNS). */
  netnsDir?: string;
  /** Runs plugin binaries (tests watch or replace it); default: spawn. */
  run?: PluginRunner;
}

/** A network's options once validated. */
export interface CniNetworkOptions {
  /** The list, normalised (a single config becomes a list of one); from `file` or given inline. */
  config: JsonObject;
  /** The net.d file it was read from, for `inspect`. */
  file?: string;
  /** `:`-separated plugin directories for this network, overriding the driver's. */
  cniPath?: string;
  /** CNI_ARGS for every attachment, in order. */
  args?: Record<string, string>;
  /** Capability arguments for every attachment (merged under the per-connect `ips` and `mac`). */
  capabilityArgs?: JsonObject;
}

const OPTION_KEYS = ['file', 'config', 'cniPath', 'args', 'capabilityArgs'] as const;

function optionError(message: string, hint: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_INVALID_OPTION', message, { hint });
}

/**
 * Any CNI plugin or configuration list as a Switchyard network driver. It cannot plan kernel operations
 * (the plugins change the kernel and do their own IPAM), so it attaches endpoints itself (`attach` /
 * `detach`): ADD through the chain, DEL in reverse, with libcni's result cache, version negotiation,
 * capability arguments, CHECK and GC.
 */
export class CniDriver implements NetworkDriver {
  readonly type: string;
  /** Local scopes: the driver's state and connectivity are this host's only. */
  readonly capability = {
    /** Network and endpoint data is meaningful on this host only. */
    dataScope: 'local',
    /** Endpoints reach each other on this host only. */
    connectivityScope: 'local',
  } as const;
  private readonly cache: ResultCache;

  constructor(
    private readonly kernel: Kernel,
    private readonly settings: CniDriverSettings & { cacheDir: string; run: PluginRunner },
    type = CNI_DRIVER_TYPE,
  ) {
    this.type = type;
    this.cache = new ResultCache(settings.cacheDir);
  }

  validateNetworkOptions(options: JsonObject): CniNetworkOptions & JsonObject {
    for (const key of Object.keys(options)) {
      if (!(OPTION_KEYS as readonly string[]).includes(key)) throw optionError(`The cni driver has no option "${key}"`, `Its options are ${OPTION_KEYS.join(', ')}.`);
    }
    const { file, config, cniPath, args, capabilityArgs } = options;
    if ((file === undefined) === (config === undefined)) {
      throw optionError('A cni network needs exactly one of "file" (a net.d .conf/.conflist path) and "config" (the JSON inline)', 'Give file=/etc/cni/net.d/10-mynet.conflist, or config={...}.');
    }
    let list: ConfList;
    if (file !== undefined) {
      if (typeof file !== 'string' || !file.startsWith('/')) throw optionError(`"file" must be an absolute path, got ${JSON.stringify(file)}`, 'Give the full path of the .conf or .conflist file.');
      list = loadConfFile(file);
    } else {
      if (typeof config !== 'string' && !isJsonObject(config)) throw optionError('"config" must be a CNI config or list, as JSON text or an object', 'Give the JSON of a .conf or .conflist.');
      list = parseConf(config);
    }
    const out: CniNetworkOptions & JsonObject = { config: confListJson(list) };
    if (typeof file === 'string') out.file = file;
    if (cniPath !== undefined) {
      if (typeof cniPath !== 'string' || splitPath(cniPath).some((d) => !d.startsWith('/'))) throw optionError('"cniPath" must be `:`-separated absolute directories', `For example ${DEFAULT_CNI_PATH}.`);
      out.cniPath = cniPath;
    }
    if (args !== undefined) {
      if (!isJsonObject(args) || !Object.entries(args).every(([k, v]) => /^[A-Za-z0-9_]+$/.test(k) && typeof v === 'string' && !/[;=]/.test(v))) {
        throw optionError('"args" must map CNI_ARGS names (letters, digits, _) to strings without ";" or "="', 'For example {"IgnoreUnknown": "1"}.');
      }
      out.args = args as Record<string, string>;
    }
    if (capabilityArgs !== undefined) {
      if (!isJsonObject(capabilityArgs)) throw optionError('"capabilityArgs" must be an object of capability arguments', 'For example {"bandwidth": {"ingressRate": 1000000}}.');
      out.capabilityArgs = capabilityArgs;
    }
    return out;
  }

  /** Finds every plugin and negotiates the version now, so a network that cannot work is never created. */
  async createNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const list = this.listOf(network);
    const cniVersion = await this.runtimeFor(network).negotiate(list);
    // The reference bridge plugin makes its bridge on the first ADD and never removes it: the network does
    // (see deleteNetwork) when it was not there before.
    const present = new Set((await this.kernel.listLinks(HOST_NS)).map((l) => l.name));
    const bridges = bridgesOf(list).filter((b) => !present.has(b));
    return {
      steps: [],
      state: { cniVersion, bridges },
      notes: [`CNI network ${list.name}, version ${cniVersion}: ${list.plugins.map((p) => p.type).join(' → ')}`],
    };
  }

  /**
   * Removes the bridges the network's plugins made, unless an attachment of any cni network still uses
   * one (the result cache lists every attachment). Their ports may still show for a moment: the kernel
   * removes the veths of a deleted namespace asynchronously.
   */
  async deleteNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const made = Array.isArray(network.state.bridges) ? network.state.bridges.filter((b): b is string => typeof b === 'string') : [];
    if (made.length === 0) return { steps: [] };
    const inUse = new Set(this.cache.list().flatMap((e) => bridgesOf(parseConf(e.config, 'cached'))));
    const present = new Set((await this.kernel.listLinks(HOST_NS)).map((l) => l.name));
    return { steps: made.filter((b) => present.has(b) && !inUse.has(b)).map((name) => ({ op: 'link.del' as const, name, ifExists: true })) };
  }

  /** Accepts every endpoint; the plugins do the work in {@link CniDriver.attach}. */
  async createEndpoint(): Promise<{
    /** Always empty. */
    state: JsonObject;
  }> {
    return { state: {} };
  }

  async deleteEndpoint(): Promise<void> {}

  join(): never {
    throw new SwitchyardError('SWY_ERR_NOT_IMPLEMENTED', 'The cni driver attaches endpoints itself; core calls attach, never join', { hint: 'This is a core bug if you see it.' });
  }

  leave(): never {
    throw new SwitchyardError('SWY_ERR_NOT_IMPLEMENTED', 'The cni driver detaches endpoints itself; core calls detach, never leave', { hint: 'This is a core bug if you see it.' });
  }

  /** ADD of the chain; the interface, addresses and MAC are the final result's. */
  async attach(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox, request: AttachRequest): Promise<AttachResult> {
    const list = this.listOf(network);
    const wanted = [request.ipv4, request.ipv6].filter((a): a is string => a !== undefined);
    if (wanted.length > 0 && !declares(list, 'ips')) {
      throw optionError(
        `No plugin of CNI network "${list.name}" declares the "ips" capability, so a static address cannot be asked for`,
        'Add "capabilities": {"ips": true} to the plugin whose IPAM honours runtimeConfig.ips (host-local, static), or leave the address out.',
      );
    }
    if (endpoint.mac !== undefined && !declares(list, 'mac')) {
      throw optionError(
        `No plugin of CNI network "${list.name}" declares the "mac" capability, so a static MAC cannot be asked for`,
        'Add "capabilities": {"mac": true} to a plugin that honours runtimeConfig.mac (bridge, tuning), or leave the MAC out.',
      );
    }
    const rt = this.runtimeConf(network, endpoint, this.netnsPath(sandbox.netns), {
      ...(wanted.length > 0 ? { ips: wanted } : {}),
      ...(endpoint.mac !== undefined ? { mac: endpoint.mac } : {}),
    });
    const runtime = this.runtimeFor(network);
    const version = this.versionOf(network);
    const result = await runtime.add(list, version, rt, network.id);
    const facts = attachmentFacts(result, endpoint.ifname);
    const mac = facts.mac ?? (await this.kernel.listLinks(sandbox.netns)).find((l) => l.name === endpoint.ifname)?.mac;
    const ignored = [
      ...(request.ipv4 !== undefined && facts.ipv4?.split('/')[0] !== request.ipv4 ? [`address ${request.ipv4} (got ${facts.ipv4 ?? 'none'})`] : []),
      ...(request.ipv6 !== undefined && facts.ipv6?.split('/')[0] !== request.ipv6 ? [`address ${request.ipv6} (got ${facts.ipv6 ?? 'none'})`] : []),
      ...(endpoint.mac !== undefined && mac !== endpoint.mac ? [`MAC ${endpoint.mac} (got ${mac ?? 'none'})`] : []),
    ];
    if (ignored.length > 0) {
      await runtime.delAttachment(list, version, rt);
      throw optionError(`CNI network "${list.name}" did not honour the requested ${ignored.join(' and ')}`, 'The plugin declaring the capability ignored it; check its version and IPAM ranges.');
    }
    return { ...facts, ...(mac !== undefined ? { mac } : {}), state: { containerId: rt.containerId } };
  }

  /** DEL of the chain in reverse, with what the ADD ran with (from the result cache). */
  async detach(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox | undefined): Promise<void> {
    const rt = this.runtimeConf(network, endpoint, sandbox ? this.netnsPath(sandbox.netns) : '', {});
    await this.runtimeFor(network).delAttachment(this.listOf(network), this.versionOf(network), rt);
  }

  /** gc: DEL of cached attachments no endpoint holds, then GC of every plugin (CNI 1.1.0). */
  async collectEndpoints(network: DriverNetwork, live: DriverEndpoint[]): Promise<string[]> {
    return this.runtimeFor(network).gc(
      this.listOf(network),
      this.versionOf(network),
      network.id,
      live.map((e) => ({ containerID: this.containerId(e), ifname: e.ifname })),
    );
  }

  /**
   * CHECK of an attachment through the chain, with its cached result. Resolves false when the list
   * disables CHECK; throws the plugin's error when the attachment is not as ADD left it.
   */
  async check(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<boolean> {
    const rt = this.runtimeConf(network, endpoint, this.netnsPath(sandbox.netns), {});
    return this.runtimeFor(network).check(this.listOf(network), this.versionOf(network), rt);
  }

  private listOf(network: DriverNetwork): ConfList {
    const config = network.options.config;
    if (!isJsonObject(config)) throw optionError(`Network "${network.name}" has no CNI config`, 'Recreate it with the file or config option.');
    return parseConf(config, `of network ${network.name}`);
  }

  private versionOf(network: DriverNetwork): string {
    const v = network.state.cniVersion;
    return typeof v === 'string' ? v : this.listOf(network).cniVersion;
  }

  private runtimeFor(network: DriverNetwork): CniRuntime {
    const own = network.options.cniPath;
    return new CniRuntime(splitPath(typeof own === 'string' ? own : (this.settings.cniPath ?? DEFAULT_CNI_PATH)), this.cache, this.settings.run);
  }

  /** The CNI container id of an endpoint: its id, so that every attachment is the endpoint's alone. */
  private containerId(endpoint: DriverEndpoint): string {
    return endpoint.id;
  }

  private runtimeConf(network: DriverNetwork, endpoint: DriverEndpoint, netns: string, perConnect: JsonObject): RuntimeConf {
    const args = isJsonObject(network.options.args) ? Object.entries(network.options.args).filter((e): e is [string, string] => typeof e[1] === 'string') : [];
    const staticArgs: JsonObject = isJsonObject(network.options.capabilityArgs) ? network.options.capabilityArgs : {};
    const capabilityArgs: Record<string, Json> = { ...staticArgs, ...perConnect };
    return { containerId: this.containerId(endpoint), netns, ifName: endpoint.ifname, args, capabilityArgs };
  }

  private netnsPath(ref: NetnsRef): string {
    if (ref.kind === 'named') return `${this.settings.netnsDir ?? '/run/netns'}/${ref.name}`;
    if (ref.kind === 'path') return ref.path;
    return `/proc/${process.pid}/ns/net`;
  }
}

/** The bridges a list's reference `bridge` plugins use (`cni0` when unnamed). */
function bridgesOf(list: ConfList): string[] {
  return [...new Set(list.plugins.filter((p) => p.type === 'bridge').map((p) => (typeof p.bridge === 'string' ? p.bridge : 'cni0')))];
}
