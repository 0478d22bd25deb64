import {
  defaultGateways,
  SwitchyardError,
  stripPrefix,
  type DriverEndpoint,
  type DriverNetwork,
  type DriverSandbox,
  type EndpointPlan,
  type JoinPlan,
  type JsonObject,
  type Kernel,
  type LeavePlan,
  type NetworkDriver,
  type NetworkPlan,
  type StateStore,
} from '@switchyard/core';
import { planHostShim, shimRouteSteps, shimAddresses, shimName, type HostShim } from './host-shim.js';
import { planMasterNetwork, planMasterTeardown, tempLinkName, type MasterState } from './master-link.js';
import { readMacvlanOptions, type MacvlanOptions } from './options.js';
import { requireLinkKind } from './kernel-feature.js';

interface MacvlanState extends MasterState {
  shim?: HostShim;
}

/** Prefix of the name a sandbox's macvlan has between creation and core's rename. */
export const MACVLAN_TEMP_PREFIX = 'mvl';

/**
 * One macvlan sub-interface of a host master per endpoint, each with its own MAC, created straight
 * inside the sandbox under a temporary name that core renames. Optionally a host shim lets the host
 * itself reach the sandboxes, which a macvlan master never can.
 */
export class MacvlanDriver implements NetworkDriver {
  readonly type = 'macvlan';
  /** Local data, global connectivity: sandboxes appear on the master's LAN and reach other hosts there. */
  readonly capability = {
    /** Network and endpoint data is meaningful on this host only. */
    dataScope: 'local',
    /** Endpoints are reachable across hosts on the master's LAN. */
    connectivityScope: 'global',
  } as const;

  constructor(
    private readonly kernel: Kernel,
    private readonly store: StateStore,
  ) {}

  async validateNetworkOptions(options: JsonObject): Promise<JsonObject> {
    const o = readMacvlanOptions(options);
    await requireLinkKind(this.kernel, 'macvlan');
    return o as unknown as JsonObject;
  }

  async createNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const o = options(network);
    const setup = await planMasterNetwork(this.kernel, this.store, 'macvlan', network.id, o);
    const master = setup.master;
    const steps = [...setup.steps];
    const notes = [...setup.notes];
    const state: MacvlanState = { ...setup.state };
    if (o.mode === 'passthru') notes.push(`passthru mode: ${master.name} takes at most one sandbox, which gets the master's own MAC address`);
    if (o.hostShim) {
      const masquerade = o.ipMasq && !network.internal;
      const shim: HostShim = { name: shimName(network.id), addresses: shimAddresses(network, { ipv4: o.shimAddress, ipv6: o.shimAddress6 }, masquerade) };
      steps.push(...planHostShim(shim, master.name));
      state.shim = shim;
      notes.push(`host shim ${shim.name} (${shim.addresses.map((a) => a.address).join(', ')}) on ${master.name} lets the host reach the sandboxes (a host route per sandbox)`);
      if (masquerade) {
        notes.push(`IP masquerade: the shim holds the gateway address, so the sandboxes route through the host and traffic leaving the subnet takes the host address`);
        // The gateway is IPAM's already: nothing more to reserve.
        return { steps, state: state as unknown as JsonObject, notes, firewall: { interfaces: [shim.name], masquerade: true } };
      }
    } else {
      notes.push(`the host cannot reach these sandboxes through ${master.name} (the kernel does not pass traffic between a macvlan master and its sub-interfaces); set hostShim: true to add a shim interface`);
    }
    // The shim's addresses are reserved in IPAM, so no sandbox is ever given one.
    return { steps, state: state as unknown as JsonObject, notes, ...(state.shim ? { reservedAddresses: state.shim.addresses.map((a) => a.address) } : {}) };
  }

  async deleteNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const state = network.state as unknown as Partial<MacvlanState>;
    // The shim hangs off the master, so it goes first.
    const steps = state.shim ? [{ op: 'link.del' as const, name: state.shim.name, ifExists: true }] : [];
    return { steps: [...steps, ...(await planMasterTeardown(this.store, network.id, state))] };
  }

  async createEndpoint(network: DriverNetwork, endpoint: DriverEndpoint): Promise<EndpointPlan> {
    const shim = (network.state as unknown as Partial<MacvlanState>).shim;
    const mine = [endpoint.ipv4, endpoint.ipv6].filter((a) => a !== undefined).map(stripPrefix);
    const clash = shim?.addresses.find((a) => mine.includes(a.address));
    if (shim && clash) {
      throw new SwitchyardError('SWY_ERR_ADDRESS_IN_USE', `${clash.address} is the address of the host shim ${shim.name} on network "${network.name}"`, {
        hint: "Give the sandbox another address, and keep the shim's address out of the range sandboxes get theirs from (ipRange or rangeEnd).",
      });
    }
    return {};
  }

  async deleteEndpoint(): Promise<void> {}

  async join(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<JoinPlan> {
    const o = options(network);
    const state = network.state as unknown as MacvlanState;
    const temp = tempLinkName(MACVLAN_TEMP_PREFIX, endpoint.id);
    const gateway = !network.internal;
    return {
      hostSteps: [
        { op: 'link.add', kind: 'macvlan', name: temp, parent: state.master, mode: o.mode, netns: sandbox.netns, ...(o.mtu ? { mtu: o.mtu } : {}) },
        ...(state.shim ? shimRouteSteps(state.shim, [endpoint.ipv4, endpoint.ipv6], 'route.add') : []),
      ],
      srcName: temp,
      srcInSandbox: true,
      ...defaultGateways(network, gateway),
    };
  }

  async leave(network: DriverNetwork, endpoint: DriverEndpoint): Promise<LeavePlan> {
    // The macvlan lives only in the sandbox (core deletes it there); on the host only the shim route is left.
    // Recovery also removes the temporary name, in case a connect died before core's rename.
    const shim = (network.state as unknown as Partial<MacvlanState>).shim;
    return {
      hostSteps: shim ? shimRouteSteps(shim, [endpoint.ipv4, endpoint.ipv6], 'route.del') : [],
      sandboxLinkNames: [tempLinkName(MACVLAN_TEMP_PREFIX, endpoint.id)],
    };
  }
}

function options(network: DriverNetwork): MacvlanOptions {
  return network.options as unknown as MacvlanOptions;
}
