import { dnsServersOf } from './dns-hooks.js';
import { SwitchyardError, isSwitchyardError, runAllCleanups } from '../errors/switchyard-error.js';
import type { ConnectOptions, EndpointRecord, EndpointRouting, NetworkRecord, SandboxRecord } from '../model/types.js';
import type { Logger } from '../registry/logger.js';
import { defaultRouteSteps, gatewayFamilies, planJoinSteps } from '../sandbox/plumbing.js';
import type { SandboxFiles } from '../sandbox/sandbox-files.js';
import { stillSameNamespace } from '../sandbox/netns-identity.js';
import type { Firewall } from '../spi/firewall.js';
import { HOST_NS, type Kernel, type KernelOp, type KernelStep } from '../spi/kernel.js';
import { DRIVER_IPAM, attachesEndpoints, type DriverEndpoint, type DriverSandbox, type LeavePlan } from '../spi/network-driver.js';
import { parseAddress } from '../util/addresses.js';
import { newId } from '../util/ids.js';
import { assertIfName, normalizeMac } from '../kernel/names.js';
import { driverNetwork, type DriverSource } from './driver-views.js';
import { runUndoable } from './undo-stack.js';
import { faultPoint } from '../util/fault-points.js';
import { retireHostLinks, retireSandboxEnd } from './link-retirement.js';
import { normalizePortBindings } from '../firewall/port-bindings.js';
import { endpointNeedsFirewall, firewallEndpoint, firewallNetwork, forwardingSteps } from '../firewall/firewall-intents.js';
import { quoteValue } from '../errors/quote-value.js';

/** The controller's part of a connect: recording the intent, committing, and clearing the intent. */
export interface ConnectHooks {
  /** Called once the endpoint is planned and before any IPAM or kernel change (writes the intent). */
  beforeChanges(endpoint: EndpointRecord): Promise<void>;
  /** Makes the result durable; a failure here rolls everything back. */
  commit(sandbox: SandboxRecord): Promise<void>;
  /** Removes the intent record: after the commit, or after a rollback whose every step succeeded. */
  clearIntent(): Promise<void>;
}

/** What {@link EndpointLifecycle.disconnect} did. */
export interface DisconnectResult {
  /** The sandbox without the endpoint (not yet committed). */
  sandbox: SandboxRecord;
  /** Present when the links were retired rather than deleted: the caller records them for a later batch. */
  retired?: {
    /** The host-side links retired with the sandbox end (their group delete on the host takes the pair). */
    hostLinks: string[];
  };
}

/** Endpoint create + join and leave + delete, with sandbox plumbing, IPAM and firewall in the right order. */
export class EndpointLifecycle {
  constructor(
    private readonly kernel: Kernel,
    private readonly drivers: DriverSource,
    private readonly firewall: Firewall,
    private readonly files: SandboxFiles,
    private readonly logger: Logger,
    /** Reads a network record (another endpoint's, when the default route moves between networks). */
    private readonly networkOf: (name: string) => Promise<NetworkRecord | undefined>,
  ) {}

  /**
   * Connects a sandbox to a network: plans the endpoint, takes its addresses, joins (or attaches) it, plumbs the
   * sandbox, programs the firewall and commits through `hooks`. Any failure rolls back every step taken and
   * rethrows; throws SWY_ERR_NETNS_NOT_FOUND when an adopted namespace's path now leads elsewhere.
   */
  async connect(network: NetworkRecord, sandbox: SandboxRecord, opts: ConnectOptions, hooks: ConnectHooks): Promise<EndpointRecord> {
    if (!stillSameNamespace(sandbox)) {
      throw new SwitchyardError('SWY_ERR_NETNS_NOT_FOUND', `The namespace sandbox ${sandbox.name} adopted is gone: ${sandbox.netns.kind === 'path' ? sandbox.netns.path : 'its path'} now leads to another namespace`, {
        hint: `Its process has exited and the PID was reused. Remove the sandbox (switchyard sandbox rm ${sandbox.name}) and adopt the new process's namespace.`,
      });
    }
    const driver = await this.drivers.driver(network.driver);
    const attaching = attachesEndpoints(driver);
    const endpoint = this.draftEndpoint(network, sandbox, opts, attaching);
    const ipam = attaching || network.ipamDriver === DRIVER_IPAM ? undefined : await this.drivers.ipam(network.ipamDriver);
    const dn = driverNetwork(network);
    const ds: DriverSandbox = { id: sandbox.id, netns: sandbox.netns };
    await hooks.beforeChanges(endpoint);
    faultPoint('connect:intent-written');
    return runUndoable(
      this.logger,
      () => hooks.clearIntent(),
      async (undo) => {
        // The endpoint owns its addresses: a later endpoint reusing the interface name never shares an owner.
        const owner = { id: endpoint.id, ifname: endpoint.ifname };
        for (const family of [4, 6] as const) {
          const pool = family === 4 ? network.ipv4 : network.ipv6;
          if (!pool || !ipam) continue;
          const wanted = family === 4 ? opts.ipv4 : opts.ipv6;
          // The endpoint id was made for this connect: no address can be held for it yet.
          const got = await ipam.requestAddress({ poolId: pool.poolId, owner, newOwner: true, ...(wanted ? { address: parseAddress(wanted, family) } : {}) });
          undo.push(`release ${got.address}`, () => ipam.releaseAddress(pool.poolId, got.address));
          faultPoint('connect:address-allocated');
          if (family === 4) endpoint.ipv4 = got.address;
          else endpoint.ipv6 = got.address;
        }
        const de: DriverEndpoint = driverEndpoint(endpoint);
        const created = await driver.createEndpoint(dn, de);
        undo.push('driver deleteEndpoint', () => driver.deleteEndpoint(dn, de));
        faultPoint('connect:endpoint-created');
        if (!endpoint.mac && created.mac) endpoint.mac = created.mac;
        endpoint.driverState = created.state ?? {};

        let updated: SandboxRecord;
        let takesOver = false;
        const current = sandbox.endpoints.find((e) => e.providesDefaultRoute);
        if (attaching) {
          // The driver makes the interface itself: refuse a taken name before it runs (CNI's ADD would fail half-way).
          if ((await this.kernel.listLinks(sandbox.netns)).some((l) => l.name === endpoint.ifname)) {
            throw new SwitchyardError('SWY_ERR_LINK_EXISTS', `Sandbox "${sandbox.name}" already has an interface named ${endpoint.ifname}`, {
              hint: 'Pick another --ifname, or remove the link that holds the name.',
            });
          }
          const request = { ...(opts.ipv4 ? { ipv4: opts.ipv4 } : {}), ...(opts.ipv6 ? { ipv6: opts.ipv6 } : {}) };
          const got = await driver.attach(dn, { ...de, ...(endpoint.mac ? { mac: endpoint.mac } : {}), state: endpoint.driverState }, ds, request);
          endpoint.driverState = { ...endpoint.driverState, ...(got.state ?? {}) };
          const attached = { ...de, ...(got.mac ? { mac: got.mac } : {}), state: endpoint.driverState };
          undo.push('driver detach', () => driver.detach(dn, attached, ds));
          for (const [key, value] of [
            ['ipv4', got.ipv4],
            ['ipv6', got.ipv6],
            ['mac', got.mac],
            ['gateway4', got.gateway4],
            ['gateway6', got.gateway6],
          ] as const) {
            if (value !== undefined) endpoint[key] = value;
          }
          // Its routes are the driver's: it takes no part in the default-route hand-over.
          endpoint.routing = { v4: false, v6: false, connected: false, onlink: false };
          updated = { ...sandbox, endpoints: [...sandbox.endpoints, endpoint] };
          await this.files.writeHosts(updated);
          undo.push('restore hosts file', () => this.files.writeHosts(sandbox));
          faultPoint('connect:kernel-applied');
        } else {
          const join = await driver.join(dn, { ...de, mac: endpoint.mac, state: endpoint.driverState }, ds);
          const can = gatewayFamilies(join, network.internal);
          endpoint.routing = {
            v4: can.v4 && endpoint.ipv4 !== undefined,
            v6: can.v6 && endpoint.ipv6 !== undefined,
            ...(join.gateway4 ? { gateway4: join.gateway4 } : {}),
            ...(join.gateway6 ? { gateway6: join.gateway6 } : {}),
            connected: join.connectedDefaultRoute === true,
            onlink: join.noPrefixRoute === true,
          };
          if (join.firewallInterface) endpoint.hostInterface = join.firewallInterface;
          if (join.bridgePort) endpoint.bridgePort = join.bridgePort;
          endpoint.gateway4 = join.gateway4;
          endpoint.gateway6 = join.gateway6;
          const providesAny = endpoint.routing.v4 || endpoint.routing.v6;
          takesOver = providesAny && (!current || endpoint.gatewayPriority > current.gatewayPriority);
          endpoint.providesDefaultRoute = takesOver;

          const steps = planJoinSteps({
            sandboxNs: sandbox.netns,
            join,
            ifname: endpoint.ifname,
            ...(endpoint.mac ? { mac: endpoint.mac } : {}),
            ...(endpoint.ipv4 ? { ipv4: endpoint.ipv4 } : {}),
            ...(endpoint.ipv6 ? { ipv6: endpoint.ipv6 } : {}),
            ...(sandbox.ipv6OffByDefault ? { ipv6OffByDefault: true } : {}),
            defaultRoute: takesOver ? { v4: endpoint.routing.v4, v6: endpoint.routing.v6 } : { v4: false, v6: false },
          });
          if (takesOver && current) {
            // The old provider's default route goes first, right before the in-sandbox steps.
            const firstInside = steps.findIndex((s) => s.ns !== HOST_NS);
            const removal = routeOps(current, 'route.del').map((op) => ({ ns: sandbox.netns, op }));
            steps.splice(firstInside < 0 ? steps.length : firstInside, 0, ...removal);
          }
          const others = sandbox.endpoints.map((e) => (takesOver && e.providesDefaultRoute ? { ...e, providesDefaultRoute: false } : e));
          updated = { ...sandbox, endpoints: [...others, endpoint] };
          // The hosts file does not depend on the kernel: write it while `ip` runs.
          const [kernelDone, hostsDone] = await Promise.allSettled([this.kernel.apply(steps), this.files.writeHosts(updated)]);
          if (hostsDone.status === 'fulfilled') undo.push('restore hosts file', () => this.files.writeHosts(sandbox));
          if (kernelDone.status === 'rejected') throw kernelDone.reason;
          undo.push('revert kernel changes', () => this.kernel.revert(kernelDone.value));
          faultPoint('connect:kernel-applied');
          if (hostsDone.status === 'rejected') throw hostsDone.reason;
        }

        if (this.firewall.available && endpointNeedsFirewall(endpoint)) {
          const fw = { network: firewallNetwork(network), endpoint: firewallEndpoint(endpoint) };
          // Published ports are forwarded: the host must forward for this network's families.
          if (endpoint.portBindings.length > 0) {
            const forwarding = await this.kernel.apply(forwardingSteps(fw.network).map((op) => ({ ns: HOST_NS, op })));
            undo.push('restore forwarding sysctls', () => this.kernel.revert(forwarding));
          }
          await this.firewall.apply({ addEndpoints: [fw] });
          undo.push('remove endpoint firewall rules', () => this.firewall.apply({ removeEndpoints: [fw] }));
          faultPoint('connect:firewall-applied');
        }
        if (driver.programExternalConnectivity && (endpoint.portBindings.length > 0 || endpoint.providesDefaultRoute)) {
          const joined = driverEndpoint(endpoint);
          await driver.programExternalConnectivity(dn, { ...joined, portBindings: endpoint.portBindings, providesDefaultRoute: endpoint.providesDefaultRoute });
          undo.push('revoke external connectivity', () => driver.revokeExternalConnectivity?.(dn, joined) ?? Promise.resolve());
        }
        // The endpoint that had the default route loses it: its driver hears so (libnetwork's gateway move).
        if (takesOver && current) {
          const was = await this.networkOf(current.networkName);
          if (was) {
            await this.reprogramExternal(was, current, false);
            undo.push(`give ${current.name} its default route's external connectivity back`, () => this.reprogramExternal(was, current, true));
          }
        }
        await hooks.commit(updated);
        return endpoint;
      },
    );
  }

  /**
   * Leave + delete one endpoint; the next-best endpoint gets the default route. Returns the updated sandbox,
   * and with `retire`, what was retired instead of deleted (see {@link RETIRED_LINK_GROUP}): the caller records it
   * and has the links deleted in a later batch.
   */
  async disconnect(network: NetworkRecord, sandbox: SandboxRecord, endpoint: EndpointRecord, opts: { tolerateMissing?: boolean; retire?: boolean } = {}): Promise<DisconnectResult> {
    const { driver, dn, de, leave } = await this.leavePlan(network, sandbox, endpoint);
    const remaining = sandbox.endpoints.filter((e) => e.id !== endpoint.id);
    const next = endpoint.providesDefaultRoute ? bestGatewayEndpoint(remaining) : undefined;
    const steps: KernelStep[] = [];
    // A namespace that vanished (its container exited) took its links and routes along.
    const present = await this.namespacePresent(sandbox);
    const links = !attachesEndpoints(driver);
    const retired = links && opts.retire === true ? { hostLinks: leave.hostLinks ?? [] } : undefined;
    if (present && links) {
      if (retired) steps.push(...retireSandboxEnd(sandbox.netns, endpoint.ifname, endpoint.id, addressesOf(endpoint)));
      else steps.push({ ns: sandbox.netns, op: { op: 'link.del', name: endpoint.ifname, ifExists: true } });
    }
    // Even when the namespace went with the sandbox end, a host end still there is retired, not deleted here.
    if (retired) steps.push(...retireHostLinks(retired.hostLinks));
    if (present && next) steps.push(...routeOps(next, 'route.add').map((op) => ({ ns: sandbox.netns, op })));
    steps.push(...leave.hostSteps.map((op) => ({ ns: HOST_NS, op })));
    await driver.revokeExternalConnectivity?.(dn, de);
    try {
      if (attachesEndpoints(driver)) await driver.detach(dn, de, present ? { id: sandbox.id, netns: sandbox.netns } : undefined);
      await this.kernel.apply(steps);
    } catch (error) {
      if (!opts.tolerateMissing) throw error;
      this.logger.warn('disconnect: kernel cleanup failed, continuing', { error: String(error) });
    }
    faultPoint('disconnect:kernel-removed');
    if (next) {
      const taking = await this.networkOf(next.networkName);
      if (taking) await this.reprogramExternal(taking, next, true);
    }
    await runAllCleanups(`disconnect ${sandbox.name} from ${network.name}`, await this.endpointCleanups(network, endpoint.id, endpoint.ifname, de, endpoint));
    faultPoint('disconnect:released');
    const updated: SandboxRecord = {
      ...sandbox,
      endpoints: remaining.map((e) => (next && e.id === next.id ? { ...e, providesDefaultRoute: true } : e)),
    };
    await this.files.writeHosts(updated);
    return retired ? { sandbox: updated, retired } : { sandbox: updated };
  }

  /**
   * Tears a sandbox down: its namespace goes first when Switchyard owns it (one cheap call removes every
   * link in it), then each endpoint's host side, addresses and driver state. Failures are gathered, and
   * every step is safe to repeat (addresses are released by owner).
   */
  async teardownSandbox(sandbox: SandboxRecord, networks: Map<string, NetworkRecord>): Promise<void> {
    const steps: Array<() => Promise<unknown>> = [];
    // A namespace a reboot took along needs no removing.
    if (sandbox.ownsNetns) steps.push(async () => (await this.kernel.netnsExists(sandbox.netns)) && this.kernel.deleteNetns(sandbox.name));
    else if (sandbox.mode === 'isolated' && sandbox.endpoints.length > 0) {
      steps.push(async () => {
        if (!(await this.namespacePresent(sandbox))) return;
        await this.kernel.apply(sandbox.endpoints.map((e) => ({ ns: sandbox.netns, op: { op: 'link.del', name: e.ifname, ifExists: true } })));
      });
    }
    for (const endpoint of sandbox.endpoints) {
      const network = networks.get(endpoint.networkName);
      if (!network) continue;
      steps.push(async () => {
        const { driver, dn, de, leave } = await this.leavePlan(network, sandbox, endpoint);
        await runAllCleanups(`remove endpoint ${endpoint.name}`, [
          () => driver.revokeExternalConnectivity?.(dn, de) ?? Promise.resolve(),
          async () => {
            if (attachesEndpoints(driver)) await driver.detach(dn, de, (await this.namespacePresent(sandbox)) ? { id: sandbox.id, netns: sandbox.netns } : undefined);
          },
          () => (leave.hostSteps.length > 0 ? this.kernel.apply(leave.hostSteps.map((op) => ({ ns: HOST_NS, op }))) : Promise.resolve()),
          ...(await this.endpointCleanups(network, endpoint.id, endpoint.ifname, de, endpoint)),
        ]);
      });
    }
    steps.push(() => this.files.remove(sandbox));
    await runAllCleanups(`remove sandbox ${sandbox.name}`, steps);
  }

  /**
   * Rolls back a connect that a dead process left half done (recovery); every step tolerates absence,
   * and nothing belonging to an endpoint committed since (which may reuse the interface name) is touched.
   */
  async rollbackConnect(network: NetworkRecord, sandbox: SandboxRecord, endpointId: string, ifname: string): Promise<void> {
    const draft: DriverEndpoint = { id: endpointId, ifname, state: {} };
    const { driver, dn, leave } = await this.leavePlan(network, sandbox, draft);
    const ifnameReused = sandbox.endpoints.some((e) => e.ifname === ifname);
    const present = await this.namespacePresent(sandbox);
    const attaching = attachesEndpoints(driver);
    const inSandbox = present && !attaching ? [...(ifnameReused ? [] : [ifname]), ...(leave.sandboxLinkNames ?? [])] : [];
    const provider = sandbox.endpoints.find((e) => e.providesDefaultRoute);
    await runAllCleanups(`roll back connect of ${sandbox.name} to ${network.name}`, [
      () => driver.revokeExternalConnectivity?.(dn, draft) ?? Promise.resolve(),
      // An interface name a committed endpoint holds now is not the dead connect's to remove.
      () => (attaching ? driver.detach(dn, draft, present && !ifnameReused ? { id: sandbox.id, netns: sandbox.netns } : undefined) : Promise.resolve()),
      () => this.kernel.apply([...inSandbox.map((name): KernelStep => ({ ns: sandbox.netns, op: { op: 'link.del', name, ifExists: true } })), ...leave.hostSteps.map((op) => ({ ns: HOST_NS, op }))]),
      // The dead connect may have taken the default route over: give it back (an existing route is fine).
      () => (provider ? this.restoreDefaultRoute(sandbox, provider) : Promise.resolve()),
      async () => {
        const held = provider && (await this.networkOf(provider.networkName));
        if (provider && held) await this.reprogramExternal(held, provider, true);
      },
      () => this.files.writeHosts(sandbox),
      ...(await this.endpointCleanups(network, endpointId, ifname, draft)),
    ]);
  }

  /**
   * Tells a driver that its endpoint's default-route role changed: revoke, then program again when the
   * endpoint still needs it (ports, or the route). Both calls are idempotent by contract.
   */
  private async reprogramExternal(network: NetworkRecord, endpoint: EndpointRecord, providesDefaultRoute: boolean): Promise<void> {
    const driver = await this.drivers.driver(network.driver);
    if (!driver.programExternalConnectivity) return;
    const dn = driverNetwork(network);
    const de = driverEndpoint(endpoint);
    await driver.revokeExternalConnectivity?.(dn, de);
    if (endpoint.portBindings.length > 0 || providesDefaultRoute) await driver.programExternalConnectivity(dn, { ...de, portBindings: endpoint.portBindings, providesDefaultRoute });
  }

  /**
   * Recovery (`gc`): programs again what a committed endpoint needs from its driver, which a reboot may
   * have taken along; idempotent, so an endpoint whose programming survived sees no change.
   */
  async programExternal(network: NetworkRecord, endpoint: EndpointRecord): Promise<void> {
    const driver = await this.drivers.driver(network.driver);
    if (!driver.programExternalConnectivity || (endpoint.portBindings.length === 0 && !endpoint.providesDefaultRoute)) return;
    await driver.programExternalConnectivity(driverNetwork(network), { ...driverEndpoint(endpoint), portBindings: endpoint.portBindings, providesDefaultRoute: endpoint.providesDefaultRoute });
  }

  /** The sandbox's namespace still exists and is still the one it adopted (never a stranger's that took over its path). */
  private async namespacePresent(sandbox: SandboxRecord): Promise<boolean> {
    return stillSameNamespace(sandbox) && (await this.kernel.netnsExists(sandbox.netns));
  }

  private async leavePlan(network: NetworkRecord, sandbox: SandboxRecord, endpoint: EndpointRecord | DriverEndpoint) {
    const driver = await this.drivers.driver(network.driver);
    const dn = driverNetwork(network);
    const de = 'networkId' in endpoint ? driverEndpoint(endpoint) : endpoint;
    // An attaching driver plans no leave: `detach` undoes what it did.
    const leave: LeavePlan = attachesEndpoints(driver) ? { hostSteps: [] } : await driver.leave(dn, de, { id: sandbox.id, netns: sandbox.netns });
    return { driver, dn, de, leave };
  }

  /**
   * Everything after the kernel: firewall rules (when the record is known; a rolled-back connect's are
   * removed by the firewall check that follows recovery), addresses (by owner, so a repeat never frees
   * someone else's), driver state.
   */
  private async endpointCleanups(network: NetworkRecord, endpointId: string, ifname: string, de: DriverEndpoint, record?: EndpointRecord): Promise<Array<() => Promise<unknown>>> {
    const driver = await this.drivers.driver(network.driver);
    // An attaching driver's network has no pools and no IPAM driver to ask.
    const ipam = network.ipamDriver === DRIVER_IPAM ? undefined : await this.drivers.ipam(network.ipamDriver);
    const owner = { id: endpointId, ifname };
    return [
      () => (record && this.firewall.available && endpointNeedsFirewall(record) ? this.firewall.apply({ removeEndpoints: [{ network: firewallNetwork(network), endpoint: firewallEndpoint(record) }] }) : Promise.resolve()),
      ...[network.ipv4, network.ipv6].filter((p) => p !== undefined).map((p) => () => ipam?.releaseOwner(p.poolId, owner) ?? Promise.resolve()),
      () => driver.deleteEndpoint(driverNetwork(network), de),
    ];
  }

  private async restoreDefaultRoute(sandbox: SandboxRecord, provider: EndpointRecord): Promise<void> {
    for (const op of routeOps(provider, 'route.add')) {
      try {
        await this.kernel.apply([{ ns: sandbox.netns, op }]);
      } catch (e) {
        if (!isSwitchyardError(e) || !/exists/i.test(e.message)) throw e;
      }
    }
  }

  private draftEndpoint(network: NetworkRecord, sandbox: SandboxRecord, opts: ConnectOptions, attaching: boolean): EndpointRecord {
    if (sandbox.mode !== 'isolated') {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Sandbox "${sandbox.name}" is in "${sandbox.mode}" mode and cannot join networks`, {
        hint: sandbox.mode === 'none' ? 'A `none` sandbox has loopback only; create an isolated sandbox instead.' : 'A `host` sandbox shares the host namespace; it already sees the host networks.',
      });
    }
    if (sandbox.endpoints.some((e) => e.networkId === network.id)) {
      throw new SwitchyardError('SWY_ERR_ENDPOINT_EXISTS', `Sandbox "${sandbox.name}" is already connected to network "${network.name}"`, {
        hint: 'Disconnect it first to change its options.',
      });
    }
    const ifname = assertIfName(opts.ifname ?? nextIfname(sandbox));
    if (sandbox.endpoints.some((e) => e.ifname === ifname)) {
      throw new SwitchyardError('SWY_ERR_LINK_EXISTS', `Sandbox "${sandbox.name}" already has an interface named ${ifname}`, {
        hint: 'Pick another --ifname, or leave it out to get the next free ethN.',
      });
    }
    const mac = opts.mac === undefined ? undefined : normalizeMac(opts.mac);
    if (opts.gatewayPriority !== undefined && !Number.isSafeInteger(opts.gatewayPriority)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Gateway priority ${quoteValue(opts.gatewayPriority)} is not a whole number`, {
        hint: 'Give an integer; the endpoint with the highest priority provides the default route.',
      });
    }
    // Checked here, before any IPAM or kernel change, so nothing malformed ever reaches the firewall.
    const portBindings = normalizePortBindings(opts.portBindings ?? []);
    for (const [family, wanted, pool] of [
      [4, opts.ipv4, network.ipv4],
      [6, opts.ipv6, network.ipv6],
    ] as const) {
      if (wanted === undefined) continue;
      parseAddress(wanted, family);
      // An attaching driver's own IPAM judges the address.
      if (!pool && !attaching) {
        throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Network "${network.name}" has no IPv${family}, so ${wanted} cannot be assigned`, {
          hint: family === 6 ? 'Create the network with IPv6 enabled.' : 'Leave out the IPv4 address.',
        });
      }
    }
    const routing: EndpointRouting = { v4: false, v6: false, connected: false, onlink: false };
    const dnsServers = dnsServersOf(network);
    return {
      id: newId(),
      name: endpointName(sandbox, network),
      networkId: network.id,
      networkName: network.name,
      sandboxId: sandbox.id,
      ifname,
      ...(mac ? { mac } : {}),
      aliases: opts.aliases ?? [],
      ...(dnsServers.length > 0 ? { dnsServers } : {}),
      portBindings,
      gatewayPriority: opts.gatewayPriority ?? 0,
      routing,
      providesDefaultRoute: false,
      driverState: {},
      createdAt: new Date().toISOString(),
    };
  }
}

/** An endpoint's name: `<sandbox>.<network>` (what firewall comments and host-port reservations name). */
export function endpointName(sandbox: Pick<SandboxRecord, 'name'>, network: Pick<NetworkRecord, 'name'>): string {
  return `${sandbox.name}.${network.name}`;
}

function driverEndpoint(endpoint: EndpointRecord): DriverEndpoint {
  return {
    id: endpoint.id,
    ifname: endpoint.ifname,
    ...(endpoint.mac ? { mac: endpoint.mac } : {}),
    ...(endpoint.ipv4 ? { ipv4: endpoint.ipv4 } : {}),
    ...(endpoint.ipv6 ? { ipv6: endpoint.ipv6 } : {}),
    state: endpoint.driverState,
  };
}

function nextIfname(sandbox: SandboxRecord): string {
  const taken = new Set(sandbox.endpoints.map((e) => e.ifname));
  for (let i = 0; ; i++) if (!taken.has(`eth${i}`)) return `eth${i}`;
}

/** Highest gateway priority wins; among equals the earliest joined keeps it (Docker's join priority). */
export function bestGatewayEndpoint(endpoints: EndpointRecord[]): EndpointRecord | undefined {
  let best: EndpointRecord | undefined;
  for (const e of endpoints) {
    if (!(e.routing.v4 || e.routing.v6)) continue;
    if (!best || e.gatewayPriority > best.gatewayPriority) best = e;
  }
  return best;
}

/** The default-route operations an endpoint provides, as add or delete. */
function routeOps(endpoint: EndpointRecord, op: 'route.add' | 'route.del'): KernelOp[] {
  const r = endpoint.routing;
  const adds = defaultRouteSteps({
    ifname: endpoint.ifname,
    defaultRoute: { v4: r.v4, v6: r.v6 },
    join: {
      hostSteps: [],
      srcName: endpoint.ifname,
      srcInSandbox: true,
      ...(r.gateway4 ? { gateway4: r.gateway4 } : {}),
      ...(r.gateway6 ? { gateway6: r.gateway6 } : {}),
      connectedDefaultRoute: r.connected,
      noPrefixRoute: r.onlink,
    },
  });
  return adds.map((a) => ({ ...a, op }) as KernelOp);
}

/** An endpoint's addresses, with prefix length. */
function addressesOf(endpoint: EndpointRecord): string[] {
  return [endpoint.ipv4, endpoint.ipv6].filter((a): a is string => a !== undefined);
}
