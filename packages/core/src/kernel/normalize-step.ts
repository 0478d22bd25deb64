import { detailValue, quoteValue } from '../errors/quote-value.js';
import { SwitchyardError, isSwitchyardError } from '../errors/switchyard-error.js';
import { VXLAN_DEFAULT_PORT, type KernelOp, type KernelStep, type LinkAddOp, type LinkSetOp, type RouteOp } from '../spi/kernel.js';
import {
  assertIfName,
  assertLinkGroup,
  assertMetric,
  assertMtu,
  assertNetnsRef,
  assertSysctlKey,
  assertSysctlValue,
  assertUdpPort,
  assertVlanId,
  assertVni,
  normalizeMac,
  parseIpAddress,
  parseCidr,
  parseRouteDst,
} from './names.js';

/**
 * Checks one step completely and returns it in canonical form (lower-case MACs, canonical CIDRs,
 * route family filled in). Every executor runs this on a whole plan before touching anything, so
 * bad input never leaves partial state, and the undo of a step is computed from canonical values.
 */

const MACVLAN_MODES = ['bridge', 'private', 'vepa', 'passthru'];
const IPVLAN_MODES = ['l2', 'l3', 'l3s'];
const IPVLAN_FLAGS = ['bridge', 'private', 'vepa'];

function option(message: string, hint: string, value?: unknown): never {
  throw new SwitchyardError('SWY_ERR_INVALID_OPTION', message, { hint, details: { value: detailValue(value) } });
}

function oneOf<T extends string>(value: unknown, allowed: readonly string[], what: string): T {
  if (typeof value !== 'string' || !allowed.includes(value)) option(`${quoteValue(value)} is not a valid ${what}`, `Use one of: ${allowed.join(', ')}.`, value);
  return value as T;
}

function optionalBool(value: unknown, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') option(`${what} must be true or false`, `Pass a boolean for ${what}.`, value);
  return value;
}

// Drops undefined members so normalised ops compare and serialise cleanly.
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function normalizeLinkAdd(op: LinkAddOp): LinkAddOp {
  const base = {
    op: 'link.add' as const,
    name: assertIfName(op.name),
    mtu: op.mtu === undefined ? undefined : assertMtu(op.mtu),
    mac: op.mac === undefined ? undefined : normalizeMac(op.mac),
    netns: op.netns === undefined ? undefined : assertNetnsRef(op.netns),
    group: op.group === undefined ? undefined : assertLinkGroup(op.group),
  };
  switch (op.kind) {
    case 'veth': {
      const p = op.peer as { name: string; netns?: KernelStep['ns']; mtu?: number; mac?: string } | undefined;
      if (!p || typeof p !== 'object') option('A veth link needs a peer', 'Give peer: {name} (and optionally netns, mtu, mac).');
      const peer = compact({
        name: assertIfName(p.name, 'veth peer name'),
        netns: p.netns === undefined ? undefined : assertNetnsRef(p.netns),
        mtu: p.mtu === undefined ? undefined : assertMtu(p.mtu),
        mac: p.mac === undefined ? undefined : normalizeMac(p.mac),
      });
      return compact({ ...base, kind: 'veth', peer });
    }
    case 'bridge':
    case 'dummy':
      return compact({ ...base, kind: op.kind });
    case 'macvlan':
      return compact({ ...base, kind: 'macvlan', parent: assertIfName(op.parent, 'parent link name'), mode: oneOf(op.mode, MACVLAN_MODES, 'macvlan mode') });
    case 'ipvlan':
      return compact({
        ...base,
        kind: 'ipvlan',
        parent: assertIfName(op.parent, 'parent link name'),
        mode: oneOf(op.mode, IPVLAN_MODES, 'ipvlan mode'),
        flag: oneOf(op.flag, IPVLAN_FLAGS, 'ipvlan flag'),
      });
    case 'vlan':
      return compact({ ...base, kind: 'vlan', parent: assertIfName(op.parent, 'parent link name'), vlanId: assertVlanId(op.vlanId) });
    case 'vxlan':
      // Defaults filled in (the values vxlanSettings gives), so a recorded step says what was made.
      return compact({
        ...base,
        kind: 'vxlan',
        vni: assertVni(op.vni),
        port: op.port === undefined ? VXLAN_DEFAULT_PORT : assertUdpPort(op.port),
        local: op.local === undefined ? undefined : parseIpAddress(op.local, 'VXLAN local address').address,
        learning: optionalBool(op.learning, 'learning') ?? false,
        proxy: optionalBool(op.proxy, 'proxy') ?? true,
      });
    default:
      return option(`${quoteValue((op as { kind?: unknown }).kind)} is not a link kind Switchyard can create`, 'Use veth, bridge, macvlan, ipvlan, vlan, dummy or vxlan.', (op as { kind?: unknown }).kind);
  }
}

function normalizeLinkSet(op: LinkSetOp): LinkSetOp {
  if (op.master !== undefined && op.master !== null && op.netns !== undefined) {
    option(`Link "${op.name}" cannot be moved to another namespace and enslaved in one step`, 'Move it first, then set master in a step that runs in the target namespace.');
  }
  return compact({
    op: 'link.set' as const,
    name: assertIfName(op.name),
    up: optionalBool(op.up, 'up'),
    mtu: op.mtu === undefined ? undefined : assertMtu(op.mtu),
    mac: op.mac === undefined ? undefined : normalizeMac(op.mac),
    master: op.master === undefined || op.master === null ? op.master : assertIfName(op.master, 'master link name'),
    netns: op.netns === undefined ? undefined : assertNetnsRef(op.netns),
    newName: op.newName === undefined ? undefined : assertIfName(op.newName, 'new link name'),
    promisc: optionalBool(op.promisc, 'promisc'),
    group: op.group === undefined ? undefined : assertLinkGroup(op.group),
    ifExists: optionalBool(op.ifExists, 'ifExists') || undefined,
  });
}

function normalizeRoute(op: RouteOp): RouteOp {
  const { dst, family: dstFamily } = parseRouteDst(op.dst);
  const via = op.via === undefined ? undefined : parseIpAddress(op.via, 'gateway');
  const src = op.src === undefined ? undefined : parseIpAddress(op.src, 'source address');
  if (op.family !== undefined && op.family !== 4 && op.family !== 6) option('The route family must be 4 or 6', 'Use family: 4 or family: 6.', op.family);
  const families = [dstFamily, via?.family, src?.family, op.family].filter((f): f is 4 | 6 => f !== undefined);
  const family = families[0] ?? 4; // iproute2's default family for routes
  if (families.some((f) => f !== family)) option(`Route ${dst} mixes IPv4 and IPv6 values`, 'Give destination, gateway, source and family of one IP version.');
  if (op.op === 'route.add' && via === undefined && op.dev === undefined) option(`Route ${dst} names neither a gateway nor a device`, 'Give via (a gateway), dev (a link), or both.');
  if (op.onlink && op.dev === undefined) option(`Route ${dst} is marked onlink but names no device`, 'Add dev: the link the gateway is reachable on.');
  return compact({
    op: op.op,
    dst,
    via: via?.address,
    dev: op.dev === undefined ? undefined : assertIfName(op.dev, 'route device'),
    scope: op.scope === undefined ? undefined : oneOf<'link' | 'host' | 'global'>(op.scope, ['link', 'host', 'global'], 'route scope'),
    src: src?.address,
    metric: op.metric === undefined ? undefined : assertMetric(op.metric),
    mtu: op.mtu === undefined ? undefined : assertMtu(op.mtu),
    onlink: optionalBool(op.onlink, 'onlink') || undefined,
    family,
    ifExists: op.op === 'route.del' ? optionalBool(op.ifExists, 'ifExists') || undefined : undefined,
  });
}

/**
 * Checks every name and value of an operation (see the `assert*`/`parse*` helpers) and returns it in canonical
 * form (addresses canonical, defaults dropped except a vxlan link's port, learning and proxy, which are filled in; route family filled in). Throws SWY_ERR_INVALID_NAME,
 * SWY_ERR_INVALID_OPTION, SWY_ERR_INVALID_CIDR or SWY_ERR_INVALID_MAC naming the bad value.
 */
export function normalizeOp(op: KernelOp): KernelOp {
  switch (op?.op) {
    case 'link.add':
      return normalizeLinkAdd(op);
    case 'link.del':
      return compact({ op: 'link.del' as const, name: assertIfName(op.name), ifExists: optionalBool(op.ifExists, 'ifExists') || undefined });
    case 'link.set':
      return normalizeLinkSet(op);
    case 'group.del': {
      const group = assertLinkGroup(op.group);
      if (group === 0) option('Link group 0 is the default group of every link and cannot be deleted as a group', 'Name the group the links were put in (1 or more).', op.group);
      return { op: 'group.del' as const, group };
    }
    case 'bridge.port':
      return compact({
        op: 'bridge.port' as const,
        name: assertIfName(op.name),
        hairpin: optionalBool(op.hairpin, 'hairpin'),
        isolated: optionalBool(op.isolated, 'isolated'),
        learning: optionalBool(op.learning, 'learning'),
      });
    case 'addr.add':
    case 'addr.del':
      return compact({
        op: op.op,
        dev: assertIfName(op.dev, 'address device'),
        cidr: parseCidr(op.cidr).cidr,
        nodad: optionalBool(op.nodad, 'nodad') || undefined,
        noprefixroute: optionalBool(op.noprefixroute, 'noprefixroute') || undefined,
        ifExists: op.op === 'addr.del' ? optionalBool(op.ifExists, 'ifExists') || undefined : undefined,
      });
    case 'route.add':
    case 'route.del':
      return normalizeRoute(op);
    case 'sysctl.set':
      return { op: 'sysctl.set', key: assertSysctlKey(op.key), value: assertSysctlValue(op.value), ...(op.missingOk === true ? { missingOk: true } : {}) };
    default:
      return option(
        `${quoteValue((op as { op?: unknown } | undefined)?.op)} is not a kernel operation`,
        'Use one of link.add, link.del, link.set, group.del, bridge.port, addr.add, addr.del, route.add, route.del, sysctl.set.',
        op,
      );
  }
}

/** Validates and canonicalises a whole plan; errors name the step (1-based) they come from. */
export function normalizeSteps(steps: readonly KernelStep[]): KernelStep[] {
  // Plans come from plugins at run time; checking an `unknown` alias keeps `steps` from narrowing to any[].
  const plan: unknown = steps;
  if (!Array.isArray(plan)) option('A kernel plan must be an array of steps', 'Pass [{ns, op}, ...].', steps);
  return steps.map((step, i) => {
    try {
      return { ns: assertNetnsRef(step?.ns), op: normalizeOp(step?.op) };
    } catch (e) {
      if (!isSwitchyardError(e)) throw e;
      throw new SwitchyardError(e.code, `Step ${i + 1} of the kernel plan: ${e.message}`, { hint: e.hint, details: { ...e.details, stepIndex: i }, cause: e });
    }
  });
}
