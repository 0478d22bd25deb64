import { inject, injectable } from '../di/decorators.js';
import { TOKENS } from '../di/tokens.js';
import type { ResolvedOptions } from '../di/options.js';
import { SwitchyardError, causeMessages, isSwitchyardError, runAllCleanups } from '../errors/switchyard-error.js';
import type { SwitchyardEventBus, SwitchyardEvents } from '../events/events.js';
import type { ConnectOptions, EndpointRecord, IpamRangeConfig, NetworkRecord, NetworkSpec, PoolAssignment, PortBinding, SandboxRecord, SandboxSpec } from '../model/types.js';
import type { Logger } from '../registry/logger.js';
import type { Firewall } from '../spi/firewall.js';
import { HOST_NS, type Kernel } from '../spi/kernel.js';
import type { LockScope, StateStore, StoreTx } from '../spi/state-store.js';
import { DRIVER_IPAM, attachesEndpoints } from '../spi/network-driver.js';
import { networkOf } from '../util/addresses.js';
import { assertObjectName, newId } from '../util/ids.js';
import { assertNetworkSpec } from './network-spec-checks.js';
import { normalizeNamedPorts, normalizePortBindings, resolveNamedPorts } from '../firewall/port-bindings.js';
import { assertAdoptableNamespace, assertNetnsOpenable, netnsIdentity } from '../sandbox/netns-identity.js';
import { assertHostName, assertSandboxFileInputs, defaultHostName } from '../sandbox/sandbox-names.js';
import type { SandboxFiles } from '../sandbox/sandbox-files.js';
import { EndpointLifecycle, endpointName } from './endpoint-lifecycle.js';
import type { Intent } from './intents.js';
import { LinkRetirement, RETIRED_ON_HOST, RETIRE_SCOPE, deleteRetiredLinks, retireIntent } from './link-retirement.js';
import { driverNetwork, type DriverSource } from './driver-views.js';
import { runUndoable, type UndoStack } from './undo-stack.js';
import type { IpamDriver } from '../spi/ipam-driver.js';
import { quoteValue } from '../errors/quote-value.js';
import { faultPoint } from '../util/fault-points.js';
import { Reconciler, type GcAction, type GcReport } from './reconciler.js';
import { assertFirewallFor, firewallNetwork, firewallState, forwardingSteps } from '../firewall/firewall-intents.js';
import { HostPortBook, rebuildHostPorts } from '../firewall/host-ports.js';
import type { FirewallCheck, FirewallState } from '../spi/firewall.js';
import type { DnsService, DnsStatus } from '../spi/dns.js';
import { assertDnsPossible, networkGetsDns } from './dns-hooks.js';

/** The IPAM driver a network uses when its spec names none. */
export const DEFAULT_IPAM = 'host-local';

/**
 * The CNM controller: owns networks, sandboxes and endpoints. Every multi-step operation runs under
 * the store's lock with an intent record, and undoes the steps already done when a later one fails.
 */
@injectable()
export class NetworkController {
  private readonly endpoints: EndpointLifecycle;
  private readonly reconciler: Reconciler;
  /** Deletes retired links in batches (absent when links are deleted at once). */
  private readonly retirement: LinkRetirement | undefined;

  constructor(
    @inject(TOKENS.Kernel) private readonly kernel: Kernel,
    @inject(TOKENS.StateStore) private readonly store: StateStore,
    @inject(TOKENS.DriverRegistry) private readonly drivers: DriverSource,
    /** Where the controller emits its events (also `switchyard.events`). */
    @inject(TOKENS.Events) readonly events: SwitchyardEventBus,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Firewall) private readonly firewall: Firewall,
    @inject(TOKENS.SandboxFiles) private readonly files: SandboxFiles,
    @inject(TOKENS.Options) private readonly options: ResolvedOptions,
    @inject(TOKENS.Dns) private readonly dns: DnsService,
  ) {
    this.endpoints = new EndpointLifecycle(kernel, drivers, firewall, files, logger, (name) => store.get<NetworkRecord>('networks', name));
    this.reconciler = new Reconciler(kernel, drivers, this.endpoints, logger);
    this.retirement = options.linkDeletion === 'immediate' ? undefined : new LinkRetirement(kernel, store, logger, options.linkDeletion);
  }

  // ---------------------------------------------------------------- networks

  /** Creates a network: IPAM pools first, then the driver's kernel objects; nothing is left if any step fails. */
  async createNetwork(spec: NetworkSpec): Promise<NetworkRecord> {
    assertObjectName('Network', spec.name);
    assertNetworkSpec(spec);
    const wantV4 = spec.ipv4 !== false;
    const wantV6 = spec.ipv6 === true;
    if (!wantV4 && !wantV6) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Network "${spec.name}" has neither IPv4 nor IPv6 enabled`, {
        hint: 'Keep IPv4 on, or set ipv6: true for an IPv6-only network.',
      });
    }
    const driver = await this.drivers.driver(spec.driver);
    assertDnsPossible(spec.name, spec.dns, driver, this.dns);
    const attaching = attachesEndpoints(driver);
    if (attaching && (spec.ipam !== undefined || spec.ipv6 === true)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Network driver "${driver.type}" allocates addresses itself, so network "${spec.name}" takes no IPAM settings or IPv6 switch`, {
        hint: `Leave out ipam/ipv6 and set addressing in the ${driver.type} driver's own options.`,
      });
    }
    const options = await driver.validateNetworkOptions(spec.options ?? {});
    if (spec.ipam?.driver === DRIVER_IPAM) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `IPAM name "${DRIVER_IPAM}" is reserved for networks whose driver allocates addresses itself`, { hint: 'Name a registered IPAM driver, or leave it out for host-local.' });
    }
    const fallback = driver.capability.defaultIpam;
    const ipamName = attaching ? DRIVER_IPAM : (spec.ipam?.driver ?? fallback?.driver ?? DEFAULT_IPAM);
    const ipamOptions = { ...(fallback && fallback.driver === ipamName ? fallback.options : {}), ...spec.ipam?.options };
    // An attaching driver's networks get no pools: no IPAM driver is asked.
    const ipam = attaching ? undefined : await this.drivers.ipam(ipamName);

    const record = await this.store.transaction(async (tx) => {
      if (await tx.get<NetworkRecord>('networks', spec.name)) {
        throw new SwitchyardError('SWY_ERR_NETWORK_EXISTS', `A network named "${spec.name}" already exists`, {
          hint: 'Pick another name, or remove the existing one with `switchyard network rm ' + spec.name + '`.',
        });
      }
      const network: NetworkRecord = {
        id: newId(),
        name: spec.name,
        driver: driver.type,
        ipamDriver: ipamName,
        internal: spec.internal === true,
        labels: { ...(spec.labels ?? {}) },
        options,
        driverState: {},
        notes: [],
        createdAt: new Date().toISOString(),
      };
      const intent: Intent = { kind: 'network.create', id: newId(), networkId: network.id, networkName: network.name, driver: driver.type, ipamDriver: ipamName, at: network.createdAt };
      await tx.put('intents', intent.id, intent);
      faultPoint('network.create:intent-written');
      return runUndoable(
        this.logger,
        () => tx.delete('intents', intent.id),
        async (undo) => {
          const networks = await this.networksInUse(tx);
          let host: string[] | undefined;
          const families = ([4, 6] as const).filter((f) => (f === 4 ? wantV4 : wantV6));
          // An IPAM that can name the pools before making them (a cluster-wide one: they outlive this
          // process) has them named in the intent first, so a crash right after requestPool leaves none.
          const foresee = ipam?.poolIdFor?.bind(ipam);
          const foreseen = foresee ? families.map((family) => foresee({ networkId: network.id, networkName: network.name, family })) : [];
          if (foreseen.length > 0) await tx.put('intents', intent.id, { ...intent, pools: foreseen } satisfies Intent);
          for (const family of families) {
            if (!ipam) continue;
            const ranges = (family === 4 ? spec.ipam?.ipv4 : spec.ipam?.ipv6) ?? [];
            // As Docker: an explicit subnet may overlap host routes (macvlan on the master's LAN);
            // an automatically picked pool must not.
            const exclude = ranges.length > 0 ? networks : [...networks, ...(host ??= await this.hostAddressesInUse())];
            const pool = await ipam.requestPool({
              networkId: network.id,
              networkName: network.name,
              family,
              ranges,
              exclude: exclude.filter((c) => (family === 4 ? !c.includes(':') : c.includes(':'))),
              options: ipamOptions,
            });
            undo.push(`release pool ${pool.poolId}`, () => ipam.releasePool(pool.poolId));
            faultPoint('network.create:pool-requested');
            const aux = await this.reserveAuxAddresses(ipam, pool.poolId, network, ranges, undo);
            const assignment: PoolAssignment = { poolId: pool.poolId, subnet: pool.subnet, ...(pool.gateway ? { gateway: pool.gateway } : {}), ...(aux ? { auxAddresses: aux } : {}) };
            if (family === 4) network.ipv4 = assignment;
            else network.ipv6 = assignment;
          }
          const pools = [network.ipv4?.poolId, network.ipv6?.poolId].filter((p): p is string => p !== undefined);
          // Pools are named in the intent so a crash before commit can release them.
          await tx.put('intents', intent.id, { ...intent, pools } satisfies Intent);
          const plan = await driver.createNetwork(driverNetwork(network));
          // A global-scope driver also registers the network in the cluster's store while planning: when the
          // create fails later, its deleteNetwork takes that back (its steps are not run: the kernel steps
          // are reverted on their own).
          if (driver.capability.dataScope === 'global') undo.push('leave the cluster network', async () => void (await driver.deleteNetwork(driverNetwork({ ...network, driverState: plan.state ?? {} }))));
          faultPoint('network.create:driver-planned');
          network.dns = networkGetsDns(spec.dns, driver, network, plan, this.dns);
          for (const [i, address] of (plan.reservedAddresses ?? []).entries()) {
            const pool = address.includes(':') ? network.ipv6 : network.ipv4;
            if (!pool || !ipam) continue;
            try {
              const got = await ipam.requestAddress({ poolId: pool.poolId, owner: { id: network.id, ifname: `reserved${i}` }, address });
              undo.push(`release reserved ${got.address}`, () => ipam.releaseAddress(pool.poolId, got.address));
            } catch (e) {
              // Outside the range endpoints are given addresses from: no endpoint can get it anyway.
              if (!isSwitchyardError(e, 'SWY_ERR_ADDRESS_OUT_OF_RANGE')) throw e;
            }
          }
          network.driverState = plan.state ?? {};
          network.notes = plan.notes ?? [];
          if (plan.firewall) network.firewall = { interfaces: [...plan.firewall.interfaces], masquerade: plan.firewall.masquerade === true, ...(plan.firewall.antiSpoof ? { antiSpoof: true } : {}) };
          const fw = firewallNetwork(network);
          if (fw.masquerade || fw.antiSpoof) assertFirewallFor(this.firewall, `${fw.masquerade ? 'IP masquerade' : 'Anti-spoofing'} on network "${network.name}"`);
          // The plan is named too, so recovery can remove what it made if this process dies now.
          if (plan.steps.length > 0) await tx.put('intents', intent.id, { ...intent, pools, planned: network } satisfies Intent);
          faultPoint('network.create:plan-recorded');
          const applied = await this.kernel.apply(plan.steps.map((op) => ({ ns: HOST_NS, op })));
          undo.push('remove network kernel objects', () => this.kernel.revert(applied));
          faultPoint('network.create:kernel-applied');
          if (this.firewall.available) {
            // Forwarding stays on once a network needs it (as Docker): the forward chain keeps networks apart.
            if (fw.masquerade) {
              const forwarding = await this.kernel.apply(forwardingSteps(fw).map((op) => ({ ns: HOST_NS, op })));
              undo.push('restore forwarding sysctls', () => this.kernel.revert(forwarding));
            }
            await this.firewall.apply({ addNetworks: [fw] });
            undo.push('remove network firewall rules', () => this.firewall.apply({ removeNetworks: [fw] }));
            faultPoint('network.create:firewall-applied');
          }
          await tx.put('networks', network.name, network);
          faultPoint('network.create:committed');
          return network;
        },
      );
    });
    this.emit('network.created', record);
    return record;
  }

  /**
   * Docker's auxiliary addresses: each is reserved in the pool under the network's own id (owner
   * ifname `auxN`), so no endpoint is given it and deleting the network releases it with the pool.
   */
  private async reserveAuxAddresses(ipam: IpamDriver, poolId: string, network: NetworkRecord, ranges: IpamRangeConfig[], undo: UndoStack): Promise<Record<string, string> | undefined> {
    const entries = ranges.flatMap((r) => Object.entries(r.auxAddresses ?? {}));
    if (entries.length === 0) return undefined;
    const aux: Record<string, string> = {};
    for (const [i, [name, address]] of entries.entries()) {
      if (name.trim() === '' || Object.hasOwn(aux, name)) {
        throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Auxiliary address name ${quoteValue(name)} of network "${network.name}" is ${name.trim() === '' ? 'empty' : 'given twice'}`, {
          hint: 'Name each auxiliary address once, e.g. --aux-address my-router=10.88.0.5.',
        });
      }
      try {
        const got = await ipam.requestAddress({ poolId, owner: { id: network.id, ifname: `aux${i}` }, address });
        undo.push(`release auxiliary ${got.address}`, () => ipam.releaseAddress(poolId, got.address));
        aux[name] = got.address.split('/')[0] as string;
      } catch (e) {
        if (isSwitchyardError(e, 'SWY_ERR_ADDRESS_OUT_OF_RANGE')) {
          throw new SwitchyardError('SWY_ERR_ADDRESS_OUT_OF_RANGE', `Auxiliary address ${name}=${address} is not in network "${network.name}"'s subnet`, {
            hint: 'Give an auxiliary address inside the subnet it belongs to (--subnet, or --subnet6 for IPv6).',
            cause: e,
            details: { name, address },
          });
        }
        throw e;
      }
    }
    return aux;
  }

  /** The network with this name, id or unique id prefix; throws SWY_ERR_NETWORK_NOT_FOUND. */
  async inspectNetwork(nameOrId: string): Promise<NetworkRecord> {
    return this.findNetwork(this.store, nameOrId);
  }

  /** Every network, sorted by name. */
  async listNetworks(): Promise<NetworkRecord[]> {
    return this.listByName<NetworkRecord>('networks');
  }

  /** Deletes a network with no endpoints: driver objects first, then its pools. */
  async deleteNetwork(nameOrId: string): Promise<NetworkRecord> {
    // Its own lock, exclusively: connects to it hold it shared, so none is in flight.
    const network = await this.lockedOn(
      async (r) => ({ exclusive: [`network:${(await this.findNetwork(r, nameOrId)).name}`] }),
      async (tx) => {
        const network = await this.findNetwork(tx, nameOrId);
        const users = (await tx.list<SandboxRecord>('sandboxes')).filter((s) => s.endpoints.some((e) => e.networkId === network.id));
        if (users.length > 0) {
          throw new SwitchyardError('SWY_ERR_NETWORK_IN_USE', `Network "${network.name}" still has ${users.length} connected sandbox(es): ${users.map((s) => s.name).join(', ')}`, {
            hint: 'Disconnect them first (`switchyard disconnect <network> <sandbox>`) or remove the sandboxes.',
          });
        }
        // One intent id per object: a retry after a failed delete replaces it instead of adding another.
        const intent: Intent = { kind: 'network.delete', id: `delete-${network.id}`, networkName: network.name, networkId: network.id, at: new Date().toISOString() };
        await tx.put('intents', intent.id, intent);
        faultPoint('network.delete:intent-written');
        await this.teardownNetwork(network);
        await tx.delete('networks', network.name);
        faultPoint('network.delete:record-deleted');
        await tx.delete('intents', intent.id);
        return network;
      },
    );
    this.emit('network.deleted', network);
    if (network.dns === true) await this.dns.refresh();
    return network;
  }

  private async teardownNetwork(network: NetworkRecord): Promise<void> {
    const driver = await this.drivers.driver(network.driver);
    const ipam = network.ipamDriver === DRIVER_IPAM ? undefined : await this.drivers.ipam(network.ipamDriver);
    const plan = await driver.deleteNetwork(driverNetwork(network));
    if (this.firewall.available) await this.firewall.apply({ removeNetworks: [firewallNetwork(network)] });
    faultPoint('network.delete:firewall-removed');
    await this.kernel.apply(plan.steps.map((op) => ({ ns: HOST_NS, op })));
    faultPoint('network.delete:kernel-removed');
    for (const pool of [network.ipv6, network.ipv4]) if (pool && ipam) await ipam.releasePool(pool.poolId);
    faultPoint('network.delete:pools-released');
  }

  /** Subnets of every other network: no new network may overlap them. */
  private async networksInUse(tx: StoreTx): Promise<string[]> {
    const networks = await tx.list<NetworkRecord>('networks');
    return networks.flatMap((n) => [n.ipv4, n.ipv6].filter((p) => p !== undefined).map((p) => p.subnet));
  }

  /** Host addresses' subnets and non-default routes: an automatically picked pool must avoid them. */
  private async hostAddressesInUse(): Promise<string[]> {
    const [routes, addrs] = await Promise.all([this.kernel.listRoutes(HOST_NS), this.kernel.listAddrs(HOST_NS)]);
    const cidrs = new Set<string>();
    for (const r of routes) if (r.dst !== 'default' && r.dst.includes('/')) cidrs.add(r.dst);
    for (const a of addrs) if (!a.cidr.startsWith('127.') && a.cidr !== '::1/128') cidrs.add(networkOf(a.cidr));
    return [...cidrs];
  }

  // ---------------------------------------------------------------- sandboxes

  /** Creates a sandbox: a new named namespace (lo up), an existing one by path or PID, `none` or `host`. */
  async createSandbox(spec: SandboxSpec): Promise<SandboxRecord> {
    assertObjectName('Sandbox', spec.name);
    assertSandboxFileInputs(spec);
    const ports = spec.ports === undefined ? [] : normalizeNamedPorts(spec.ports);
    const mode = spec.mode ?? 'isolated';
    if (mode !== 'isolated' && (spec.netnsPath || spec.pid)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Sandbox mode "${mode}" cannot take an existing namespace`, {
        hint: 'Give --netns/--pid only for isolated sandboxes.',
      });
    }
    const record = await this.store.transaction(
      async (tx) => {
        if (await tx.get<SandboxRecord>('sandboxes', spec.name)) {
          throw new SwitchyardError('SWY_ERR_SANDBOX_EXISTS', `A sandbox named "${spec.name}" already exists`, {
            hint: 'Pick another name, or remove it with `switchyard sandbox rm ' + spec.name + '`.',
          });
        }
        const id = newId();
        const sandbox: SandboxRecord = {
          id,
          name: spec.name,
          mode,
          netns: HOST_NS,
          ownsNetns: false,
          hostname: spec.hostname ?? defaultHostName(spec.name, id),
          dns: { nameservers: spec.dns?.nameservers ?? [], search: spec.dns?.search ?? [], options: spec.dns?.options ?? [] },
          extraHosts: spec.extraHosts ?? [],
          labels: { ...(spec.labels ?? {}) },
          ...(ports.length > 0 ? { ports } : {}),
          endpoints: [],
          createdAt: new Date().toISOString(),
        };
        const adopted = spec.netnsPath ?? (spec.pid !== undefined ? `/proc/${spec.pid}/ns/net` : undefined);
        const makesNetns = mode !== 'host' && adopted === undefined;
        const intent: Intent = {
          kind: 'sandbox.create',
          id: newId(),
          sandboxName: sandbox.name,
          sandboxId: sandbox.id,
          at: sandbox.createdAt,
          // Named before it exists (one write, not two): recovery's delete of a namespace that was never made is a no-op.
          ...(makesNetns ? { netnsName: sandbox.name } : {}),
        };
        // Written first in every mode: the sandbox's files need removing too if this process dies.
        await tx.put('intents', intent.id, intent);
        faultPoint('sandbox.create:intent-written');
        return runUndoable(
          this.logger,
          () => tx.delete('intents', intent.id),
          async (undo) => {
            if (mode !== 'host') {
              const path = adopted;
              if (path !== undefined) {
                const ns = { kind: 'path' as const, path };
                const identity = netnsIdentity(path);
                if (identity === undefined) assertNetnsOpenable(path);
                assertAdoptableNamespace(path, identity);
                if (!(await this.kernel.netnsExists(ns))) {
                  throw new SwitchyardError('SWY_ERR_NETNS_NOT_FOUND', `No network namespace at ${path}`, {
                    hint: 'Give the path of a namespace file (e.g. /proc/<pid>/ns/net or a bind mount under /run/netns).',
                  });
                }
                await this.kernel.apply([{ ns, op: { op: 'link.set', name: 'lo', up: true } }]);
                sandbox.netns = ns;
                if (identity) sandbox.netnsIdentity = identity;
              } else {
                sandbox.netns = await this.kernel.createNetns(sandbox.name);
                sandbox.ownsNetns = true;
                undo.push(`delete netns ${sandbox.name}`, () => this.kernel.deleteNetns(sandbox.name));
                // Interfaces that arrive in the namespace start with IPv6 off (Docker's rule for endpoints
                // without an IPv6 address); a dual-stack connect turns it on for its own interface.
                // Once here, so an IPv4-only connect needs no step of its own for it.
                await this.kernel.apply([{ ns: sandbox.netns, op: { op: 'sysctl.set', key: 'net.ipv6.conf.default.disable_ipv6', value: '1', missingOk: true } }]);
                sandbox.ipv6OffByDefault = true;
                faultPoint('sandbox.create:netns-created');
              }
            }
            sandbox.filesDir = await this.files.write(sandbox);
            undo.push('remove sandbox files', () => this.files.remove(sandbox));
            faultPoint('sandbox.create:files-written');
            await tx.put('sandboxes', sandbox.name, sandbox);
            faultPoint('sandbox.create:committed');
            return sandbox;
          },
        );
      },
      { exclusive: [`sandbox:${spec.name}`] },
    );
    this.emit('sandbox.created', record);
    return record;
  }

  /** The sandbox with this name, id or unique id prefix, with its endpoints; throws SWY_ERR_SANDBOX_NOT_FOUND. */
  async inspectSandbox(nameOrId: string): Promise<SandboxRecord> {
    return this.findSandbox(this.store, nameOrId);
  }

  /** Every sandbox, sorted by name. */
  async listSandboxes(): Promise<SandboxRecord[]> {
    return this.listByName<SandboxRecord>('sandboxes');
  }

  private async listByName<T extends { name: string }>(collection: 'networks' | 'sandboxes'): Promise<T[]> {
    return (await this.store.list<T>(collection)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Removes a sandbox: every endpoint leaves (collecting failures, continuing), then its namespace goes. */
  async deleteSandbox(nameOrId: string): Promise<SandboxRecord> {
    const { sandbox, left } = await this.lockedOn(sandboxScope(this.findSandbox.bind(this), nameOrId), async (tx) => {
      const sandbox = await this.findSandbox(tx, nameOrId);
      const intent: Intent = { kind: 'sandbox.delete', id: `delete-${sandbox.id}`, sandboxName: sandbox.name, sandboxId: sandbox.id, at: new Date().toISOString() };
      await tx.put('intents', intent.id, intent);
      faultPoint('sandbox.delete:intent-written');
      const networks = new Map<string, NetworkRecord>();
      for (const ep of sandbox.endpoints) {
        const n = await tx.get<NetworkRecord>('networks', ep.networkName);
        if (n) networks.set(ep.networkName, n);
      }
      await this.endpoints.teardownSandbox(sandbox, networks);
      faultPoint('sandbox.delete:torn-down');
      await tx.delete('sandboxes', sandbox.name);
      faultPoint('sandbox.delete:record-deleted');
      await this.releasePorts(
        tx,
        sandbox.endpoints.flatMap((e) => e.portBindings),
        { sandbox: sandbox.name },
      );
      await tx.delete('intents', intent.id);
      return { sandbox, left: sandbox.endpoints.map((e) => ({ e, n: networks.get(e.networkName) })) };
    });
    for (const { e, n } of left) if (n) this.emit('endpoint.left', e, sandbox, n);
    this.emit('sandbox.deleted', sandbox);
    if (left.some(({ n }) => n?.dns === true)) await this.dns.refresh();
    return sandbox;
  }

  // ---------------------------------------------------------------- endpoints

  /** Connects a sandbox to a network (create endpoint + join); undoes every done step if one fails. */
  async connect(networkNameOrId: string, sandboxNameOrId: string, opts: ConnectOptions = {}): Promise<EndpointRecord> {
    // Aliases go into the sandbox's hosts file, a line per entry.
    for (const alias of opts.aliases ?? []) assertHostName('Alias', alias);
    const publishes = (opts.portBindings ?? []).length > 0;
    if (publishes) assertFirewallFor(this.firewall, 'Publishing ports');
    let request = opts;
    let reserved: PortBinding[] = [];
    // Port-publishing connects also take the `ports` lock: host ports are picked and checked under it.
    const result = await this.lockedOn(this.endpointScope(networkNameOrId, sandboxNameOrId, publishes), async (tx) => {
      const network = await this.findNetwork(tx, networkNameOrId);
      const sandbox = await this.findSandbox(tx, sandboxNameOrId);
      if (publishes) {
        if (network.internal) {
          throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Network "${network.name}" is internal: nothing outside it can reach its sandboxes, so it cannot publish ports`, {
            hint: 'Publish the ports on a connect to a network that is not internal.',
          });
        }
        const bindings = normalizePortBindings(resolveNamedPorts(opts.portBindings, sandbox));
        reserved = await this.reservePorts(tx, bindings, sandbox.name, endpointName(sandbox, network));
        request = { ...opts, portBindings: reserved };
      }
      const attempt = async () => {
        const intentId = newId();
        let committed: SandboxRecord | undefined;
        const endpoint = await this.endpoints.connect(network, sandbox, request, {
          beforeChanges: (ep) => tx.put('intents', intentId, { kind: 'connect', id: intentId, sandboxName: sandbox.name, networkName: network.name, endpointId: ep.id, ifname: ep.ifname, at: ep.createdAt } satisfies Intent),
          commit: async (updated) => {
            committed = updated;
            await tx.put('sandboxes', updated.name, updated);
            faultPoint('connect:committed');
          },
          clearIntent: () => tx.delete('intents', intentId),
        });
        return { endpoint, network, sandbox: committed as SandboxRecord };
      };
      try {
        try {
          return await attempt();
        } catch (error) {
          // The network's bridge (or other objects) vanished under it (a reboot, `ip link del`): bring them back once and retry.
          if (!isSwitchyardError(error) || (await this.restoreNetworkObjects(tx, network)).length === 0) throw error;
          return await attempt();
        }
      } catch (error) {
        // The host ports this connect reserved go back (a crash here leaves them for the next reservation or gc to drop).
        if (publishes) await this.releasePorts(tx, reserved, { sandbox: sandbox.name, endpoint: endpointName(sandbox, network) }).catch(() => undefined);
        throw error;
      }
    });
    this.emit('endpoint.joined', result.endpoint, result.sandbox, result.network);
    if (result.network.dns === true) await this.serveDns([result.network]);
    return result.endpoint;
  }

  /** Disconnects a sandbox from a network; the next-best endpoint takes over the default route. */
  async disconnect(networkNameOrId: string, sandboxNameOrId: string): Promise<EndpointRecord> {
    const result = await this.lockedOn(this.endpointScope(networkNameOrId, sandboxNameOrId, 'if-held'), async (tx) => {
      const network = await this.findNetwork(tx, networkNameOrId);
      const sandbox = await this.findSandbox(tx, sandboxNameOrId);
      const endpoint = sandbox.endpoints.find((e) => e.networkId === network.id);
      if (!endpoint) {
        throw new SwitchyardError('SWY_ERR_ENDPOINT_NOT_FOUND', `Sandbox "${sandbox.name}" is not connected to network "${network.name}"`, {
          hint: `See its networks with \`switchyard sandbox inspect ${sandbox.name}\`.`,
        });
      }
      const intent: Intent = { kind: 'disconnect', id: newId(), sandboxName: sandbox.name, networkName: network.name, endpointId: endpoint.id, at: new Date().toISOString() };
      await tx.put('intents', intent.id, intent);
      faultPoint('disconnect:intent-written');
      const { sandbox: updated, retired } = await this.endpoints.disconnect(network, sandbox, endpoint, { retire: this.retirement !== undefined });
      await tx.put('sandboxes', updated.name, updated);
      faultPoint('disconnect:committed');
      await this.releasePorts(tx, endpoint.portBindings, { sandbox: sandbox.name, endpoint: endpoint.name });
      // The disconnect is done; what stays is a record of the links waiting to be deleted (one write instead of a delete).
      const retire = retired ? retireIntent(intent.id, sandbox, retired.hostLinks) : undefined;
      if (retire) {
        await tx.put('intents', retire.id, retire);
        faultPoint('disconnect:retired');
      } else await tx.delete('intents', intent.id);
      return { endpoint, network, sandbox: updated, retire };
    });
    if (result.retire) this.retirement?.retired(result.retire);
    this.emit('endpoint.left', result.endpoint, result.sandbox, result.network);
    // The responder drops a network whose last endpoint left (and exits when none is left).
    if (result.network.dns === true) await this.dns.refresh();
    return result.endpoint;
  }

  /**
   * Makes sure the DNS responder answers for these networks (a name resolves as soon as the connect that
   * asked returns). The connect has happened either way: a responder that cannot start is logged, with
   * its code, not thrown (`doctor` shows it; the next operation tries again).
   */
  private async serveDns(networks: NetworkRecord[]): Promise<void> {
    try {
      await this.dns.serve(networks);
    } catch (e) {
      const code = isSwitchyardError(e) ? ` (${e.code})` : '';
      this.logger.warn(`DNS for ${networks.map((n) => `network "${n.name}"`).join(', ')} is not answering${code}: ${(e as Error).message}`);
    }
  }

  /** The DNS responder's state, for `doctor`. */
  dnsStatus(): Promise<DnsStatus> {
    return this.dns.status();
  }

  /**
   * Deletes now the links disconnects retired and left for a later batch (see {@link RETIRED_LINK_GROUP});
   * `close()` does it too. Resolves when they are gone; a failure is logged and left to recovery.
   */
  async settle(): Promise<void> {
    await this.retirement?.settle();
  }

  // ---------------------------------------------------------------- reconciliation

  private async restoreNetworkObjects(tx: StoreTx, network: NetworkRecord): Promise<string[]> {
    const restored = await this.reconciler.restoreNetwork(network, await tx.list<SandboxRecord>('sandboxes'));
    if (restored.length > 0) this.logger.warn(`network ${network.name}: restored its kernel objects (${restored.join('; ')})`);
    return restored;
  }

  /** Why each stale sandbox and network is stale (`ls` and `inspect` show it); healthy ones are absent. Reads only. */
  async staleness(): Promise<{
    /** Why each stale sandbox is stale, by sandbox name. */
    sandboxes: Record<string, string>;
    /** What is missing for each stale network, by network name. */
    networks: Record<string, string>;
  }> {
    const [sandboxes, networks] = await Promise.all([this.store.list<SandboxRecord>('sandboxes'), this.store.list<NetworkRecord>('networks')]);
    const out = { sandboxes: {} as Record<string, string>, networks: {} as Record<string, string> };
    for (const s of sandboxes) {
      const reason = await this.reconciler.sandboxStaleness(s);
      if (reason !== undefined) out.sandboxes[s.name] = reason;
    }
    for (const n of networks) {
      const plan = await this.reconciler.networkRepair(n, sandboxes).catch(() => ({ steps: [], notes: [] }));
      if (plan.steps.length > 0) out.networks[n.name] = (plan.notes ?? ['kernel objects are missing']).join('; ');
    }
    return out;
  }

  /**
   * Reconciles the store with the kernel: finishes or rolls back interrupted operations, removes sandboxes
   * whose namespace or owning process is gone (with their addresses), restores networks' vanished kernel
   * objects and removes orphaned endpoint links. `dryRun` reports the same actions without taking them.
   */
  async gc(options: { dryRun?: boolean } = {}): Promise<GcReport> {
    const dryRun = options.dryRun === true;
    const actions = await this.store.transaction(async (tx) => {
      const recovered: GcAction[] = [];
      for (const intent of await tx.list<Intent>('intents')) {
        const action = {
          kind: 'recover-intent' as const,
          target: intent.kind === 'network.create' || intent.kind === 'network.delete' ? intent.networkName : intent.sandboxName,
          reason: `an interrupted ${intent.kind} (${intent.at})`,
        };
        if (dryRun) recovered.push({ ...action, done: false });
        else {
          const error = await this.recoverIntent(tx, intent);
          recovered.push({ ...action, done: error === undefined, ...(error === undefined ? {} : { error }) });
        }
      }
      const collected = [...recovered, ...(await this.reconciler.collect(tx, dryRun))];
      if (!dryRun) await rebuildHostPorts(tx);
      // Last, from the store as it is now: elements a crash or a removed sandbox left in the firewall go, missing ones come back.
      if (this.firewall.available) {
        const state = await this.intendedFirewall(tx);
        const check = await this.firewall.verify(state);
        if (check.problems.length > 0) {
          const action = { kind: 'restore-firewall' as const, target: `${this.firewall.name} table`, reason: check.problems.join('; ') };
          if (dryRun) collected.push({ ...action, done: false });
          else {
            try {
              await this.syncFirewall(state);
              collected.push({ ...action, done: true });
            } catch (error) {
              collected.push({ ...action, done: false, error: error instanceof Error ? error.message : String(error) });
            }
          }
        }
      }
      return collected;
    });
    return { dryRun, actions };
  }

  // ---------------------------------------------------------------- recovery

  /**
   * Finishes or rolls back operations a dead process left half done, from their intent records:
   * creates are rolled back unless their record was committed; teardowns are finished.
   */
  async recover(): Promise<number> {
    let handled = 0;
    // Each intent under the locks its operation held: a live process still holds them, so by the
    // time they are ours its intent is either gone (it finished) or left by a dead process.
    for (const seen of await this.store.list<Intent>('intents')) {
      const done = await this.store.transaction(async (tx) => {
        const intent = await tx.get<Intent>('intents', seen.id);
        return intent !== undefined && (await this.recoverIntent(tx, intent)) === undefined;
      }, intentScope(seen));
      if (done) handled++;
    }
    if (handled > 0) this.emit('recovery.completed', { rolledBack: handled });
    await this.restoreFirewall();
    // A responder killed while it served networks comes back with the next operation.
    await this.dns.revive();
    return handled;
  }

  // ---------------------------------------------------------------- firewall

  /** The firewall backend's name (`nftables`, `none`). */
  get firewallName(): string {
    return this.firewall.name;
  }

  /** What the installed rules lack or hold beyond the intended state (from the store); reads only. */
  async checkFirewall(): Promise<FirewallCheck> {
    return this.firewall.verify(await this.intendedFirewall(this.store));
  }

  /** What the firewall should hold, from the records `reader` sees. */
  private async intendedFirewall(reader: Pick<StoreTx, 'list'>): Promise<FirewallState> {
    const [networks, sandboxes] = await Promise.all([reader.list<NetworkRecord>('networks'), reader.list<SandboxRecord>('sandboxes')]);
    return firewallState(networks, sandboxes);
  }

  /**
   * Notices a missing or damaged table (someone ran `nft flush ruleset`, a crash left elements) and
   * reinstalls it from the store; runs whenever a changing Switchyard opens. Returns the problems found.
   */
  async restoreFirewall(): Promise<string[]> {
    if (!this.firewall.available) return [];
    const first = await this.checkFirewall();
    if (first.problems.length === 0) return [];
    // Under the store-wide lock: an operation in flight may have applied rules it has not committed yet.
    const fixed = await this.store.transaction(async (tx) => {
      const state = await this.intendedFirewall(tx);
      const again = await this.firewall.verify(state);
      if (again.problems.length > 0) await this.syncFirewall(state);
      return again.problems;
    });
    if (fixed.length > 0) this.logger.warn(`firewall: reinstalled Switchyard's rules (${fixed.join('; ')})`);
    return fixed;
  }

  /** `firewall reload`: replaces Switchyard's rules with the intended state from the store, atomically. */
  async reloadFirewall(): Promise<{
    /** How many networks the firewall now holds. */
    networks: number;
    /** How many endpoints the firewall now holds. */
    endpoints: number;
  }> {
    return this.store.transaction(async (tx) => {
      const state = await this.intendedFirewall(tx);
      await this.syncFirewall(state);
      return { networks: state.networks.length, endpoints: state.endpoints.length };
    });
  }

  /** The installed rules as the backend reports them. */
  async showFirewall(): Promise<string> {
    return this.firewall.show();
  }

  private async syncFirewall(state: FirewallState): Promise<void> {
    if (!this.firewall.available) return;
    const steps = state.networks.filter((n) => n.masquerade || state.endpoints.some((e) => e.networkId === n.id && e.ports.length > 0)).flatMap(forwardingSteps);
    if (steps.length > 0) await this.kernel.apply(steps.map((op) => ({ ns: HOST_NS, op })));
    await this.firewall.sync(state);
  }

  /** Recovers one intent and removes it; returns the error message when that failed (the intent stays for the next try). */
  private async recoverIntent(tx: StoreTx, intent: Intent): Promise<string | undefined> {
    try {
      await this.recoverOne(tx, intent);
      await tx.delete('intents', intent.id);
      return undefined;
    } catch (error) {
      this.logger.warn(`could not recover ${intent.kind} (${intent.id}); will retry on next start`, { error: String(error) });
      // With what failed under it (etcd unreachable, a link that would not go): gc prints this line.
      const causes = causeMessages(error, true);
      return (error instanceof Error ? error.message : String(error)) + (causes.length > 0 ? `: ${causes.join('; ')}` : '');
    }
  }

  private async recoverOne(tx: StoreTx, intent: Intent): Promise<void> {
    switch (intent.kind) {
      case 'network.create': {
        if ((await tx.get<NetworkRecord>('networks', intent.networkName))?.id === intent.networkId) return;
        // An attaching driver's network has no IPAM driver to ask.
        const ipam = intent.ipamDriver === DRIVER_IPAM ? undefined : await this.drivers.ipam(intent.ipamDriver);
        const planned = intent.planned;
        await runAllCleanups(`roll back network ${intent.networkName}`, [
          async () => {
            if (!planned || !this.firewall.available) return;
            await this.firewall.apply({ removeNetworks: [firewallNetwork(planned)] });
          },
          async () => {
            if (planned) {
              const plan = await (await this.drivers.driver(planned.driver)).deleteNetwork(driverNetwork(planned));
              await this.kernel.apply(plan.steps.map((op) => ({ ns: HOST_NS, op })));
              return;
            }
            // Killed before the plan was recorded, maybe after a global driver registered this host in the
            // cluster while planning: its deleteNetwork takes that back (no kernel step had run). A driver
            // that cannot be loaded now cannot be asked; the pools below are released all the same.
            const driver = await this.drivers.driver(intent.driver).catch(() => undefined);
            if (driver?.capability.dataScope === 'global') await driver.deleteNetwork({ id: intent.networkId, name: intent.networkName, options: {}, state: {}, internal: false });
          },
          ...(intent.pools ?? []).map((pool) => () => ipam?.releasePool(pool) ?? Promise.resolve()),
        ]);
        return;
      }
      case 'network.delete': {
        const network = await tx.get<NetworkRecord>('networks', intent.networkName);
        // A newer network with the same name is not this one.
        if (network?.id === intent.networkId) {
          await this.teardownNetwork(network);
          await tx.delete('networks', network.name);
        }
        return;
      }
      case 'sandbox.create': {
        const existing = await tx.get<SandboxRecord>('sandboxes', intent.sandboxName);
        if (existing !== undefined && existing.id === intent.sandboxId) return;
        // A sandbox created later under the same name owns that namespace now.
        if (intent.netnsName && existing === undefined) await this.kernel.deleteNetns(intent.netnsName);
        // Its hosts and resolv.conf may have been written before the process died.
        if (intent.sandboxId) await this.files.remove({ id: intent.sandboxId });
        return;
      }
      case 'sandbox.delete': {
        const sandbox = await tx.get<SandboxRecord>('sandboxes', intent.sandboxName);
        if (sandbox?.id !== intent.sandboxId) return;
        const networks = new Map<string, NetworkRecord>();
        for (const ep of sandbox.endpoints) {
          const n = await tx.get<NetworkRecord>('networks', ep.networkName);
          if (n) networks.set(ep.networkName, n);
        }
        await this.endpoints.teardownSandbox(sandbox, networks);
        await tx.delete('sandboxes', sandbox.name);
        return;
      }
      case 'connect': {
        const sandbox = await tx.get<SandboxRecord>('sandboxes', intent.sandboxName);
        const network = await tx.get<NetworkRecord>('networks', intent.networkName);
        if (!sandbox || !network || sandbox.endpoints.some((e) => e.id === intent.endpointId)) return;
        await this.endpoints.rollbackConnect(network, sandbox, intent.endpointId, intent.ifname);
        return;
      }
      case 'disconnect': {
        const sandbox = await tx.get<SandboxRecord>('sandboxes', intent.sandboxName);
        const network = await tx.get<NetworkRecord>('networks', intent.networkName);
        const endpoint = sandbox?.endpoints.find((e) => e.id === intent.endpointId);
        if (sandbox && network && endpoint) {
          const { sandbox: updated } = await this.endpoints.disconnect(network, sandbox, endpoint, { tolerateMissing: true });
          await tx.put('sandboxes', updated.name, updated);
        }
        // The dead process may have retired the links already (before or after its commit): the group goes, on the host and in the sandbox.
        await deleteRetiredLinks(this.kernel, [RETIRED_ON_HOST, ...(sandbox ? [{ ...sandbox, inHost: false }] : [])]);
        return;
      }
      case 'retire':
        await deleteRetiredLinks(this.kernel, [intent]);
        return;
    }
  }

  /** Emits after the fact; a listener that throws must not turn a committed operation into a failure. */
  private emit<E extends keyof SwitchyardEvents>(event: E, ...args: Parameters<SwitchyardEvents[E]>): void {
    try {
      (this.events.emit as (e: E, ...a: Parameters<SwitchyardEvents[E]>) => boolean)(event, ...args);
    } catch (error) {
      this.logger.warn(`a listener of ${event} threw; the operation itself succeeded`, { error: String(error) });
    }
  }

  // ---------------------------------------------------------------- locks

  /**
   * Runs `body` in a transaction holding the locks `scopeOf` names, computed from a lock-free read and
   * computed again inside: if they changed meanwhile (a sandbox joined another network, a name now
   * means another object), the transaction is given up and tried again with the new locks.
   */
  private async lockedOn<T>(scopeOf: (reader: Pick<StoreTx, 'get' | 'list'>) => Promise<LockScope>, body: (tx: StoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      // After a few changes under our feet, take the store-wide lock: nothing can move then.
      const scope = attempt < 5 ? await scopeOf(this.store) : undefined;
      const out = await this.store.transaction(async (tx) => {
        if (scope !== undefined && !sameScope(await scopeOf(tx), scope)) return { retry: true as const };
        return { retry: false as const, value: await body(tx) };
      }, scope);
      if (!out.retry) return out.value;
    }
  }

  /**
   * Connect and disconnect: the network shared (it must not go away), the sandbox exclusively; with `ports`,
   * the host-port lock too (a connect that publishes; `if-held`: a disconnect whose endpoint holds ports).
   */
  private endpointScope(networkNameOrId: string, sandboxNameOrId: string, ports: boolean | 'if-held' = false) {
    return async (r: Pick<StoreTx, 'get' | 'list'>): Promise<LockScope> => {
      const [network, sandbox] = await Promise.all([this.findNetwork(r, networkNameOrId), this.findSandbox(r, sandboxNameOrId)]);
      const holds = ports === 'if-held' ? sandbox.endpoints.some((e) => e.networkId === network.id && e.portBindings.length > 0) : ports;
      return { shared: [`network:${network.name}`], exclusive: [`sandbox:${sandbox.name}`, ...(holds ? [PORTS_LOCK] : [])] };
    };
  }

  // ---------------------------------------------------------------- host ports

  private portBook(tx: StoreTx): HostPortBook {
    return new HostPortBook(tx, this.options.hostPortRange, (h) => this.logger.warn(`host ports: dropped a stale reservation of ${h.hostPort}/${h.protocol} by ${h.endpoint}`));
  }

  /** Reserves the bindings' host ports for `endpoint` (picking free ones for port 0) and returns them. Under the ports lock. */
  private async reservePorts(tx: StoreTx, bindings: PortBinding[], sandbox: string, endpoint: string): Promise<PortBinding[]> {
    const book = this.portBook(tx);
    const reserved = await book.reserve(bindings, sandbox, endpoint);
    await book.save();
    return reserved;
  }

  private async releasePorts(tx: StoreTx, bindings: ReadonlyArray<Pick<PortBinding, 'protocol' | 'hostPort'>>, holder: { sandbox: string; endpoint?: string }): Promise<void> {
    if (bindings.length === 0) return;
    const book = this.portBook(tx);
    await book.release(bindings, holder);
    await book.save();
  }

  // ---------------------------------------------------------------- lookups

  private async findNetwork(reader: Pick<StoreTx, 'get' | 'list'>, nameOrId: string): Promise<NetworkRecord> {
    const found = await findByNameOrId<NetworkRecord>(reader, 'networks', nameOrId);
    if (!found) {
      throw new SwitchyardError('SWY_ERR_NETWORK_NOT_FOUND', `No network named or with id "${nameOrId}"`, {
        hint: 'List networks with `switchyard network ls`.',
      });
    }
    return found;
  }

  private async findSandbox(reader: Pick<StoreTx, 'get' | 'list'>, nameOrId: string): Promise<SandboxRecord> {
    const found = await findByNameOrId<SandboxRecord>(reader, 'sandboxes', nameOrId);
    if (!found) {
      throw new SwitchyardError('SWY_ERR_SANDBOX_NOT_FOUND', `No sandbox named or with id "${nameOrId}"`, {
        hint: 'List sandboxes with `switchyard sandbox ls`.',
      });
    }
    return found;
  }

  /** The instance's resolved options (state dir, plugin dirs). */
  get settings(): ResolvedOptions {
    return this.options;
  }
}

/** Held by every transaction that changes the host-port index. */
const PORTS_LOCK = 'ports:host';

/** A sandbox exclusively, and every network it is on shared (its endpoints leave them). */
function sandboxScope(find: (r: Pick<StoreTx, 'get' | 'list'>, key: string) => Promise<SandboxRecord>, nameOrId: string) {
  return async (r: Pick<StoreTx, 'get' | 'list'>): Promise<LockScope> => {
    const sandbox = await find(r, nameOrId);
    const ports = sandbox.endpoints.some((e) => e.portBindings.length > 0) ? [PORTS_LOCK] : [];
    return { exclusive: [`sandbox:${sandbox.name}`, ...ports], shared: [...new Set(sandbox.endpoints.map((e) => `network:${e.networkName}`))] };
  };
}

/** The locks the operation that wrote an intent held (network create: the store-wide lock). */
function intentScope(intent: Intent): LockScope | undefined {
  switch (intent.kind) {
    case 'network.create':
      return undefined;
    case 'network.delete':
      return { exclusive: [`network:${intent.networkName}`] };
    case 'sandbox.create':
    case 'sandbox.delete':
      return { exclusive: [`sandbox:${intent.sandboxName}`] };
    case 'connect':
    case 'disconnect':
      return { shared: [`network:${intent.networkName}`], exclusive: [`sandbox:${intent.sandboxName}`] };
    case 'retire':
      return RETIRE_SCOPE;
  }
}

function sameScope(a: LockScope, b: LockScope): boolean {
  const key = (s: LockScope) => JSON.stringify([[...(s.exclusive ?? [])].sort(), [...(s.shared ?? [])].sort()]);
  return key(a) === key(b);
}

/** Documents are keyed by name (one read per lookup); ids and unique id prefixes (≥ 4 chars) work too. */
async function findByNameOrId<T extends { id: string; name: string }>(reader: Pick<StoreTx, 'get' | 'list'>, collection: 'networks' | 'sandboxes', key: string): Promise<T | undefined> {
  if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(key) && !key.includes('..')) {
    const byName = await reader.get<T>(collection, key);
    if (byName) return byName;
  }
  if (!/^[0-9a-f]{4,64}$/.test(key)) return undefined;
  const matches = (await reader.list<T>(collection)).filter((d) => d.id.startsWith(key));
  return matches.length === 1 ? matches[0] : undefined;
}
