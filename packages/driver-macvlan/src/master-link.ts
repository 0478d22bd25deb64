import { HOST_NS, SwitchyardError, type Kernel, type KernelOp, type LinkInfo, type NetworkRecord, type StateStore } from '@switchyard/core';

/**
 * The master (parent) link that macvlan and ipvlan sub-interfaces hang off: found by name or taken
 * from the host's default route, checked, and — for a `parent.vlanid` name — an 802.1Q link that
 * Switchyard creates and later removes. Shared by the macvlan and ipvlan drivers.
 */

/** An 802.1Q link name read as parent and VLAN id (`eth0.10`). */
export interface VlanName {
  /** The parent link, e.g. `eth0`. */
  parent: string;
  /** The VLAN id, 1–4094. */
  id: number;
}

/** The master link {@link resolveMaster} found. */
export interface ResolvedMaster {
  /** The link sub-interfaces are created on. */
  name: string;
  /** Its MTU (the parent's, for a VLAN link still to be created). */
  mtu: number;
  /** True when no master was given and the default route's interface was taken. */
  defaulted: boolean;
  /** Set when `name` is a `parent.vlanid` link that does not exist yet. */
  vlanToCreate?: VlanName;
}

/** Reads `eth0.10` as VLAN 10 on `eth0`; undefined when the name has no such suffix. */
export function parseVlanName(name: string): VlanName | undefined {
  const m = /^(.+)\.(\d{1,4})$/.exec(name);
  if (!m?.[1] || !m[2]) return undefined;
  const id = Number(m[2]);
  return id >= 1 && id <= 4094 ? { parent: m[1], id } : undefined;
}

/** The host interface a default route leaves through (IPv4 first), if any. */
export async function defaultRouteInterface(kernel: Kernel): Promise<string | undefined> {
  const routes = (await kernel.listRoutes(HOST_NS)).filter((r) => r.dst === 'default' && r.dev !== undefined);
  return (routes.find((r) => r.family === 4) ?? routes[0])?.dev;
}

/** Finds the master link; SWY_ERR_MASTER_NOT_FOUND when neither it nor (for `parent.vlanid`) its parent exists. */
export async function resolveMaster(kernel: Kernel, driver: string, requested: string | undefined): Promise<ResolvedMaster> {
  let name = requested;
  const defaulted = name === undefined;
  if (name === undefined) {
    name = await defaultRouteInterface(kernel);
    if (name === undefined) {
      throw new SwitchyardError('SWY_ERR_MASTER_NOT_FOUND', `No master was given for the ${driver} network, and the host has no default route to take one from`, {
        hint: 'Name the host interface the sandboxes should share with the "master" option, e.g. master=eth0.',
      });
    }
  }
  const links = await kernel.listLinks(HOST_NS);
  const existing = links.find((l) => l.name === name);
  if (existing?.flags.includes('LOOPBACK')) {
    // The kernel takes only Ethernet links as parents; it would answer a bare "Invalid argument".
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The loopback interface ${name} cannot be the master of a ${driver} network`, {
      hint: 'Name an Ethernet interface of the host as "master", e.g. master=eth0.',
      details: { master: name },
    });
  }
  if (existing) return { name, mtu: existing.mtu, defaulted };
  const vlan = parseVlanName(name);
  const parent: LinkInfo | undefined = vlan ? links.find((l) => l.name === vlan.parent) : undefined;
  if (vlan && parent) return { name, mtu: parent.mtu, defaulted, vlanToCreate: vlan };
  throw new SwitchyardError(
    'SWY_ERR_MASTER_NOT_FOUND',
    vlan ? `The ${driver} master ${name} does not exist, and neither does its parent ${vlan.parent} to create VLAN ${vlan.id} on` : `The ${driver} master ${name} does not exist on the host`,
    { hint: 'List the host interfaces with `ip link show` and name one of them as "master" (or parent.vlanid for an 802.1Q sub-interface).', details: { master: name } },
  );
}

/** Refuses an MTU above the master's, which the kernel would reject with a bare "Invalid argument". */
export function checkMtu(driver: string, mtu: number | undefined, master: ResolvedMaster): void {
  if (mtu === undefined || mtu <= master.mtu) return;
  throw new SwitchyardError('SWY_ERR_MTU_TOO_LARGE', `The ${driver} network's MTU ${mtu} is larger than the MTU ${master.mtu} of its master ${master.name}`, {
    hint: `Choose an MTU of at most ${master.mtu}, or raise ${master.name}'s MTU first.`,
    details: { mtu, masterMtu: master.mtu, master: master.name },
  });
}

/** What a network keeps about its master in its driver state. */
export interface MasterState {
  /** The master link's name. */
  master: string;
  /** True when the master was taken from the default route rather than given. */
  masterDefaulted: boolean;
  /** Switchyard created the 802.1Q link (it goes when the last network on it goes). */
  vlanCreated: boolean;
}

/** What {@link planMasterSetup} planned for a new network's master. */
export interface MasterSetup {
  /** Host-namespace steps: creating the 802.1Q link, when needed. */
  steps: KernelOp[];
  /** What the network keeps about its master. */
  state: MasterState;
  /** Lines for `network inspect` (a defaulted master, a created VLAN link). */
  notes: string[];
}

/** Networks already committed (not `self`) whose driver state names this master. */
async function networksOnMaster(store: StateStore, master: string, selfId: string): Promise<NetworkRecord[]> {
  // The controller calls drivers inside its store transaction, so committed records cannot change under us.
  const all = await store.list<NetworkRecord>('networks');
  return all.filter((n) => n.id !== selfId && n.driverState.master === master);
}

/**
 * Plans the master's setup for a new network: creates the 802.1Q link when it is missing (after
 * checking the kernel has 8021q), or shares ownership of one another Switchyard network created.
 */
export async function planMasterSetup(kernel: Kernel, store: StateStore, driver: string, networkId: string, master: ResolvedMaster): Promise<MasterSetup> {
  const notes: string[] = [];
  if (master.defaulted) notes.push(`master ${master.name}: no master was given, so the interface of the host's default route was taken`);
  const steps: KernelOp[] = [];
  let vlanCreated = false;
  if (master.vlanToCreate) {
    const { parent, id } = master.vlanToCreate;
    if (!(await kernel.probe('vlan'))) {
      throw new SwitchyardError('SWY_ERR_KERNEL_FEATURE_MISSING', `The ${driver} master ${master.name} is an 802.1Q VLAN link, and this kernel cannot create VLAN links (no 8021q)`, {
        hint: `Use a kernel with 802.1Q support (CONFIG_VLAN_8021Q), create ${master.name} yourself, or choose an untagged master.`,
        details: { feature: 'vlan', master: master.name },
      });
    }
    steps.push({ op: 'link.add', kind: 'vlan', name: master.name, parent, vlanId: id }, { op: 'link.set', name: master.name, up: true });
    vlanCreated = true;
    notes.push(`802.1Q link ${master.name} (VLAN ${id} on ${parent}) created by Switchyard; it is removed with the last network that uses it`);
  } else if (parseVlanName(master.name)) {
    // An existing VLAN link another Switchyard network created stays ours: whichever network goes last removes it.
    vlanCreated = (await networksOnMaster(store, master.name, networkId)).some((n) => n.driverState.vlanCreated === true);
  }
  return { steps, state: { master: master.name, masterDefaulted: master.defaulted, vlanCreated }, notes };
}

/** Plans the removal of the 802.1Q link Switchyard created, unless another network still uses it. */
export async function planMasterTeardown(store: StateStore, networkId: string, state: Partial<MasterState>): Promise<KernelOp[]> {
  if (state.vlanCreated !== true || typeof state.master !== 'string') return [];
  if ((await networksOnMaster(store, state.master, networkId)).length > 0) return [];
  return [{ op: 'link.del', name: state.master, ifExists: true }];
}

/** Name of the link join creates inside the sandbox before core renames it (`prefix` + endpoint id, 13 characters). */
export function tempLinkName(prefix: string, endpointId: string): string {
  return `${prefix}${endpointId.slice(0, 13 - prefix.length)}`;
}

/** A master-based network's common start: find the master, check the MTU against it, plan the VLAN link if needed. */
export async function planMasterNetwork(
  kernel: Kernel,
  store: StateStore,
  driver: string,
  networkId: string,
  options: { master?: string | undefined; mtu?: number | undefined },
): Promise<
  MasterSetup & {
    /** The master link found. */
    master: ResolvedMaster;
  }
> {
  const master = await resolveMaster(kernel, driver, options.master);
  checkMtu(driver, options.mtu, master);
  return { ...(await planMasterSetup(kernel, store, driver, networkId, master)), master };
}
