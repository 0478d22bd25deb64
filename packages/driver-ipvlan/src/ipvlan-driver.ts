import {
  defaultGateways,
  SwitchyardError,
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
import { planMasterNetwork, planMasterTeardown, requireLinkKind, tempLinkName, type MasterState } from '@switchyard/driver-macvlan';
import { readIpvlanOptions, type IpvlanOptions } from './options.js';

/** Prefix of the name a sandbox's ipvlan has between creation and core's rename. */
export const IPVLAN_TEMP_PREFIX = 'ipv';

/**
 * One ipvlan sub-interface of a host master per endpoint: all share the master's MAC address. In L2
 * mode the sandboxes use the network's gateway; in L3 modes the master routes for them, so the
 * default route is a connected route on the interface, with no gateway (as libnetwork does).
 */
export class IpvlanDriver implements NetworkDriver {
  readonly type = 'ipvlan';
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
    const o = readIpvlanOptions(options);
    await requireLinkKind(this.kernel, 'ipvlan');
    return o as unknown as JsonObject;
  }

  async createNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const o = options(network);
    const setup = await planMasterNetwork(this.kernel, this.store, 'ipvlan', network.id, o);
    const master = setup.master;
    const notes = [...setup.notes];
    if (o.mode !== 'l2') notes.push(`${o.mode} mode: ${master.name} routes for the sandboxes; they get a default route on their interface and no gateway`);
    notes.push(`the host cannot reach these sandboxes through ${master.name} (ipvlan keeps a master and its sub-interfaces apart)`);
    return { steps: setup.steps, state: setup.state as unknown as JsonObject, notes };
  }

  async deleteNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    return { steps: await planMasterTeardown(this.store, network.id, network.state) };
  }

  async createEndpoint(network: DriverNetwork, endpoint: DriverEndpoint): Promise<EndpointPlan> {
    if (endpoint.mac !== undefined) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `ipvlan network "${network.name}" cannot give a sandbox the MAC address ${endpoint.mac}: ipvlan interfaces all carry their master's MAC`, {
        hint: 'Leave the MAC address out, or use a macvlan network, whose interfaces have MAC addresses of their own.',
      });
    }
    return {};
  }

  async deleteEndpoint(): Promise<void> {}

  async join(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<JoinPlan> {
    const o = options(network);
    const state = network.state as unknown as MasterState;
    const temp = tempLinkName(IPVLAN_TEMP_PREFIX, endpoint.id);
    const hostSteps: JoinPlan['hostSteps'] = [{ op: 'link.add', kind: 'ipvlan', name: temp, parent: state.master, mode: o.mode, flag: o.flag, netns: sandbox.netns, ...(o.mtu ? { mtu: o.mtu } : {}) }];
    const base = { hostSteps, srcName: temp, srcInSandbox: true };
    if (o.mode !== 'l2' && !network.internal) return { ...base, connectedDefaultRoute: true };
    return { ...base, ...defaultGateways(network, !network.internal) };
  }

  async leave(_network: DriverNetwork, endpoint: DriverEndpoint): Promise<LeavePlan> {
    // The ipvlan lives only in the sandbox; core deleting it there leaves nothing on the host.
    // Recovery also removes the temporary name, in case a connect died before core's rename.
    return { hostSteps: [], sandboxLinkNames: [tempLinkName(IPVLAN_TEMP_PREFIX, endpoint.id)] };
  }
}

function options(network: DriverNetwork): IpvlanOptions {
  return network.options as unknown as IpvlanOptions;
}
