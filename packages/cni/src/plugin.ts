/**
 * The handlers every Switchyard CNI plugin shares (ADD, DEL, CHECK, STATUS, GC), over the same state
 * store as the library and the CLI: the network a config names is a Switchyard network (created from the
 * config on first use), a container is a sandbox adopting the runtime's netns, an attachment is an
 * endpoint. A plugin executable is `runPlugin(switchyardPlugin({ driver, open }), { env, stdin })`.
 */
import { isSwitchyardError, type EndpointRecord, type NetworkRecord, type NetworkSpec, type SandboxRecord, type Switchyard } from '@switchyard/core';
import { connectOptionsFrom, dnsFrom, resultFromEndpoint, sandboxNameFor, CNI_SANDBOX_PREFIX } from './attachment.js';
import { translateNetConf } from './net-conf.js';
import { GC_ATTACHMENTS_KEY, GC_ATTACHMENTS_SPEC_KEY, type NetConf } from './protocol/config.js';
import { CNI_ERROR_CODES, CniError } from './protocol/errors.js';
import { resultFor, resultProblems, type CniInterface, type CniResult } from './protocol/result.js';
import type { GcContext, PluginContext, PluginHandlers } from './protocol/run.js';

/** Labels on what a CNI plugin created, so `switchyard sandbox ls`/`network ls` can tell. */
export const CNI_CONTAINER_LABEL = 'switchyard.cni.container';
/** Label on networks a CNI plugin created from a config (value `true`). */
export const CNI_NETWORK_LABEL = 'switchyard.cni.network';

/** Keys any CNI config may carry that are the runtime's, not the plugin type's options. */
const RUNTIME_KEYS = new Set(['cniVersion', 'cniVersions', 'runtimeConfig', 'capabilities', 'prevResult', 'args', 'dns', 'disableCheck', 'disableGC', GC_ATTACHMENTS_KEY, GC_ATTACHMENTS_SPEC_KEY]);

/** Switchyard's error codes for a Switchyard failure: invalid input is 7, a container that is not there 3, the rest plugin-defined (100 + the kind). */
const KIND_CODES: Readonly<Record<string, number>> = { InvalidArgument: CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, NotFound: 101, Conflict: 102, Unavailable: 103, NotImplemented: 104, Internal: 105 };

/** A SwitchyardError as the CNI error a runtime reads: the message, and the code and hint as details. */
export function cniErrorOf(error: unknown): unknown {
  if (!isSwitchyardError(error)) return error;
  return new CniError(KIND_CODES[error.kind] ?? 100, error.message, [error.code, error.hint].filter((s) => s !== undefined && s !== '').join(': '));
}

/** The Switchyard network spec a CNI config describes, for `driver` (bridge, veth, macvlan, ipvlan). */
export function networkSpecFrom(config: NetConf, driver: string): NetworkSpec {
  const own = Object.fromEntries(Object.entries(config).filter(([key]) => !RUNTIME_KEYS.has(key)));
  const spec = translateNetConf(`CNI config of network "${config.name}"`, { ...own, type: driver });
  return { ...spec, labels: { [CNI_NETWORK_LABEL]: 'true' } };
}

/** What a Switchyard CNI plugin executable is made of: the driver it drives and how to open Switchyard. */
export interface SwitchyardPluginOptions {
  /** The Switchyard driver this plugin drives. */
  driver: string;
  /** Opens Switchyard (the composition root's job: state dir, drivers, firewall); closed after each command. */
  open: () => Promise<Switchyard>;
  /** The host-side interfaces an ADD result lists before the container's (a bridge, a veth's host end). */
  hostInterfaces?: (network: NetworkRecord, endpoint: EndpointRecord) => CniInterface[];
}

/**
 * The CNI handlers of a Switchyard plugin for `options.driver`: ADD creates the network from the config on first use,
 * adopts the runtime's netns as a sandbox and connects it (undoing all of it when it fails); DEL removes the attachment
 * and succeeds when there is none; CHECK compares the endpoint in the kernel with the prevResult; STATUS fails while the
 * network's kernel objects are missing; GC removes this network's attachments that are not listed as valid. Each command
 * opens Switchyard and closes it afterwards; Switchyard errors become CNI errors.
 */
export function switchyardPlugin(options: SwitchyardPluginOptions): PluginHandlers {
  const withSwitchyard = async <T>(fn: (sy: Switchyard) => Promise<T>): Promise<T> => {
    const sy = await options.open();
    try {
      return await fn(sy);
    } catch (error) {
      throw cniErrorOf(error);
    } finally {
      await sy.close();
    }
  };

  return {
    add: (ctx) =>
      withSwitchyard(async (sy) => {
        const { containerId, netns } = attachmentOf(ctx);
        // The runtime's arguments are checked before anything is made.
        const connectOptions = connectOptionsFrom(ctx.config, ctx.env);
        const dns = dnsFrom(ctx.config);
        const { network, created } = await ensureNetwork(sy, ctx.config, options.driver);
        const name = sandboxNameFor(containerId);
        let existing: SandboxRecord | undefined;
        let sandbox: SandboxRecord | undefined;
        try {
          existing = await find(() => sy.controller.inspectSandbox(name));
          sandbox = existing ?? (await sy.controller.createSandbox({ name, netnsPath: netns, labels: { [CNI_CONTAINER_LABEL]: containerId } }));
          const connected = await sy.controller.connect(network.name, sandbox.name, connectOptions);
          // The result names the container interface's MAC, as the reference plugins do; the kernel chose it when the driver did not.
          const mac = connected.mac ?? (await sy.kernel.listLinks(sandbox.netns)).find((l) => l.name === connected.ifname)?.mac;
          const endpoint = mac ? { ...connected, mac } : connected;
          const result = resultFromEndpoint(endpoint, netns, options.hostInterfaces?.(network, endpoint) ?? [], dns, network);
          // A result the runtime would refuse is a failed ADD: checked here, while the attachment can still be undone.
          const problems = resultProblems(resultFor(result, ctx.cniVersion), ctx.cniVersion);
          if (problems.length > 0) throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, 'the attachment cannot be described as a valid result', problems.join('; '));
          return result;
        } catch (error) {
          // A sandbox and a network this ADD made go with it: nothing of a failed ADD stays (a network another ADD joined meanwhile stays).
          if (sandbox && !existing) await sy.controller.deleteSandbox(sandbox.name).catch(() => undefined);
          if (created) await sy.controller.deleteNetwork(network.name).catch(() => undefined);
          throw error;
        }
      }),

    // DEL is idempotent and complete: no sandbox, network or endpoint is success; a netns already gone is fine.
    del: (ctx) =>
      withSwitchyard(async (sy) => {
        const { containerId, ifname } = ctx.env;
        if (containerId === undefined || ifname === undefined) return;
        const sandbox = await find(() => sy.controller.inspectSandbox(sandboxNameFor(containerId)));
        if (!sandbox) return;
        await removeAttachment(sy, sandbox, ctx.config.name, ifname);
      }),

    check: (ctx) =>
      withSwitchyard(async (sy) => {
        const { containerId, ifname } = attachmentOf(ctx);
        const sandbox = await find(() => sy.controller.inspectSandbox(sandboxNameFor(containerId)));
        const endpoint = sandbox?.endpoints.find((e) => e.networkName === ctx.config.name && e.ifname === ifname);
        if (!sandbox || !endpoint) throw new CniError(CNI_ERROR_CODES.UNKNOWN_CONTAINER, 'no such attachment', `container ${containerId} has no interface ${ifname} on network ${ctx.config.name}`);
        const stale = (await sy.controller.staleness()).sandboxes[sandbox.name];
        if (stale !== undefined) throw new CniError(CNI_ERROR_CODES.UNKNOWN_CONTAINER, 'the container is gone', stale);
        await checkInKernel(sy, sandbox, endpoint, ctx.prevResult);
      }),

    // Ready when the network's kernel objects are in place (or it does not exist yet: the first ADD makes them).
    status: (ctx) =>
      withSwitchyard(async (sy) => {
        const why = (await sy.controller.staleness()).networks[ctx.config.name];
        if (why !== undefined) throw new CniError(CNI_ERROR_CODES.PLUGIN_NOT_AVAILABLE, `network ${ctx.config.name} is not ready`, why);
      }),

    gc: (ctx: GcContext) =>
      withSwitchyard(async (sy) => {
        const keep = new Set(ctx.validAttachments.map((a) => `${sandboxNameFor(a.containerID)}/${a.ifname}`));
        for (const sandbox of await sy.controller.listSandboxes()) {
          if (!sandbox.name.startsWith(CNI_SANDBOX_PREFIX) || sandbox.labels[CNI_CONTAINER_LABEL] === undefined) continue;
          for (const endpoint of sandbox.endpoints) {
            if (endpoint.networkName !== ctx.config.name || keep.has(`${sandbox.name}/${endpoint.ifname}`)) continue;
            await removeAttachment(sy, await sy.controller.inspectSandbox(sandbox.name), endpoint.networkName, endpoint.ifname);
          }
        }
      }),
  };
}

function attachmentOf(ctx: PluginContext): { containerId: string; netns: string; ifname: string } {
  const { containerId, netns, ifname } = ctx.env;
  // parseEnvironment guarantees these for ADD and CHECK.
  if (containerId === undefined || netns === undefined || ifname === undefined) throw new CniError(CNI_ERROR_CODES.INVALID_ENVIRONMENT, 'missing environment variables', 'CNI_CONTAINERID, CNI_NETNS and CNI_IFNAME');
  return { containerId, netns, ifname };
}

/** The object, or undefined when Switchyard says it does not exist. */
async function find<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (isSwitchyardError(error) && error.kind === 'NotFound') return undefined;
    throw error;
  }
}

/** The network the config names: created from it on first use; one of another driver is a conflict. */
async function ensureNetwork(sy: Switchyard, config: NetConf, driver: string): Promise<{ network: NetworkRecord; created: boolean }> {
  const spec = networkSpecFrom(config, driver);
  const existing = await find(() => sy.controller.inspectNetwork(config.name));
  if (existing) {
    if (existing.driver !== spec.driver) {
      throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, `network ${config.name} exists with driver ${existing.driver}`, `this config asks for ${spec.driver}; give the network another name`);
    }
    return { network: existing, created: false };
  }
  try {
    return { network: await sy.controller.createNetwork(spec), created: true };
  } catch (error) {
    // Another ADD created it meanwhile: use theirs.
    if (isSwitchyardError(error) && error.code === 'SWY_ERR_NETWORK_EXISTS') return { network: await sy.controller.inspectNetwork(config.name), created: false };
    throw error;
  }
}

/** Disconnects the sandbox's endpoint on `networkName` with `ifname` (if any), and removes the sandbox when nothing is left on it. */
async function removeAttachment(sy: Switchyard, sandbox: SandboxRecord, networkName: string, ifname: string): Promise<void> {
  const endpoint = sandbox.endpoints.find((e) => e.networkName === networkName && e.ifname === ifname);
  if (endpoint) await sy.controller.disconnect(networkName, sandbox.name);
  const left = endpoint ? sandbox.endpoints.length - 1 : sandbox.endpoints.length;
  if (left === 0) await sy.controller.deleteSandbox(sandbox.name);
}

/** CHECK: the interface is in the netns with the addresses the endpoint (and the prevResult, when given) says. */
async function checkInKernel(sy: Switchyard, sandbox: SandboxRecord, endpoint: EndpointRecord, prev: CniResult | undefined): Promise<void> {
  const links = await sy.kernel.listLinks(sandbox.netns);
  if (!links.some((l) => l.name === endpoint.ifname)) throw new CniError(CNI_ERROR_CODES.UNKNOWN_CONTAINER, `interface ${endpoint.ifname} is missing`, `not in ${JSON.stringify(sandbox.netns)}`);
  const have = new Set((await sy.kernel.listAddrs(sandbox.netns)).filter((a) => a.dev === endpoint.ifname).map((a) => a.cidr));
  const want = [endpoint.ipv4, endpoint.ipv6, ...(prev?.ips ?? []).map((ip) => ip.address)].filter((a): a is string => a !== undefined);
  const missing = [...new Set(want)].filter((a) => !have.has(a));
  if (missing.length > 0) throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, `interface ${endpoint.ifname} lacks addresses`, missing.join(', '));
}
