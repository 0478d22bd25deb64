import type { AppliedPlan, KernelStep, LinkSetOp } from '../spi/kernel.js';

/** The metric the kernel gives an IPv6 route added without one. */
const IPV6_DEFAULT_ROUTE_METRIC = 1024;

/**
 * The undo of each kernel step, shared by every executor so that rollback means the same thing
 * everywhere. Pure: the state it needs (a sysctl's previous value, a link's attributes before a
 * change) travels on the applied step.
 */

/** A link's changeable attributes as they were just before a step changed them. */
export interface LinkState {
  /** Whether the link was up. */
  readonly up: boolean;
  /** Whether promiscuous mode was on. */
  readonly promisc: boolean;
  /** MTU in bytes. */
  readonly mtu: number;
  /** MAC address, when the link has one. */
  readonly mac?: string;
  /** The bridge it was enslaved to; null for none. */
  readonly master: string | null;
  /** Bridge-port flags, when the link is a bridge port. */
  readonly port?: {
    /** Hairpin mode. */
    readonly hairpin: boolean;
    /** Port isolation. */
    readonly isolated: boolean;
    /** MAC learning. */
    readonly learning: boolean;
  };
}

/**
 * A step as it ran. A sysctl step carries the value it replaced (`previous`); a link.set or
 * bridge.port step the link's state before it (`before`), so undo restores exactly that.
 */
export interface AppliedStep extends KernelStep {
  /** For sysctl.set: the value the key had before. */
  readonly previous?: string;
  /** For link.set and bridge.port: the link's state before the step. */
  readonly before?: LinkState;
}

/** The link whose state must be recorded before this step so that its undo is exact, if any. */
export function linkStateNeededBy(step: KernelStep): string | undefined {
  const op = step.op;
  if (op.op === 'bridge.port') return op.name;
  if (op.op === 'link.set' && (op.up !== undefined || op.promisc !== undefined || op.mtu !== undefined || op.mac !== undefined || op.master !== undefined)) return op.name;
  return undefined;
}

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

function flip(v: boolean | undefined): boolean | undefined {
  return v === undefined ? undefined : !v;
}

function undoLinkSet(step: AppliedStep, op: LinkSetOp): KernelStep[] {
  // After the step the link lives in the target namespace under its new name; undo starts there.
  const ns = op.netns ?? step.ns;
  const name = op.newName ?? op.name;
  const moved = op.netns !== undefined;
  const before = step.before;
  const attrs: Mutable<LinkSetOp> = {};
  if (before) {
    // Exact: put back what changed (a move brings the link down; its up state is restored after moving back).
    if (op.up !== undefined && !moved && before.up !== op.up) attrs.up = before.up;
    if (op.promisc !== undefined && before.promisc !== op.promisc) attrs.promisc = before.promisc;
    if (op.mtu !== undefined && before.mtu !== op.mtu) attrs.mtu = before.mtu;
    if (op.mac !== undefined && before.mac !== undefined && before.mac !== op.mac) attrs.mac = before.mac;
    if (op.master !== undefined && before.master !== op.master) attrs.master = before.master;
  } else {
    // Previous state unknown: flip booleans, release an enslaved link, leave MTU and MAC.
    if (op.up !== undefined && !moved) attrs.up = flip(op.up);
    if (op.promisc !== undefined) attrs.promisc = flip(op.promisc);
    if (typeof op.master === 'string') attrs.master = null;
  }
  // Switchyard groups only links it is retiring: back to the default group.
  if (op.group !== undefined && op.group !== 0) attrs.group = 0;
  const out: KernelStep[] = [];
  if (Object.keys(attrs).length > 0) out.push({ ns, op: { op: 'link.set', name, ...attrs } });
  if (moved || op.newName !== undefined) {
    const back: Mutable<LinkSetOp> = {};
    if (moved) back.netns = step.ns;
    if (op.newName !== undefined) back.newName = op.name;
    out.push({ ns, op: { op: 'link.set', name, ...back } });
  }
  if (moved && before?.up) out.push({ ns: step.ns, op: { op: 'link.set', name: op.name, up: true } });
  return out;
}

/**
 * The steps that undo one applied step, in the order they must run. Link attributes go back to the
 * recorded `before` state; without one, booleans are flipped and MTU/MAC stay. A deleted link cannot
 * be recreated, so deletion has no undo.
 */
export function undoOf(step: AppliedStep): KernelStep[] {
  const op = step.op;
  switch (op.op) {
    case 'link.add':
      // Deleting the created link also deletes its veth peer, wherever that went.
      return [{ ns: op.netns ?? step.ns, op: { op: 'link.del', name: op.name } }];
    case 'link.del':
    case 'group.del':
      return [];
    case 'link.set':
      return undoLinkSet(step, op);
    case 'bridge.port': {
      const was = step.before?.port;
      const back = (f: 'hairpin' | 'isolated' | 'learning'): boolean | undefined => {
        const v = op[f];
        if (v === undefined) return undefined;
        if (!was) return flip(v);
        return was[f] === v ? undefined : was[f];
      };
      const flags = { hairpin: back('hairpin'), isolated: back('isolated'), learning: back('learning') };
      const set = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
      return Object.keys(set).length ? [{ ns: step.ns, op: { op: 'bridge.port', name: op.name, ...set } }] : [];
    }
    case 'addr.add':
      return [{ ns: step.ns, op: { op: 'addr.del', dev: op.dev, cidr: op.cidr } }];
    case 'addr.del':
      return [{ ns: step.ns, op: { ...op, op: 'addr.add' } }];
    case 'route.add': {
      // Deleting matches on destination, gateway, device and metric; the other attributes are not needed. An IPv6
      // delete without a metric takes the first match (the lowest metric): name the default one the route got.
      const metric = op.metric ?? (op.family === 6 ? IPV6_DEFAULT_ROUTE_METRIC : undefined);
      const del = Object.fromEntries(Object.entries({ dst: op.dst, via: op.via, dev: op.dev, metric, family: op.family }).filter(([, v]) => v !== undefined));
      return [{ ns: step.ns, op: { op: 'route.del', dst: op.dst, ...del } }];
    }
    case 'route.del':
      return [{ ns: step.ns, op: { ...op, op: 'route.add' } }];
    case 'sysctl.set':
      return step.previous === undefined ? [] : [{ ns: step.ns, op: { op: 'sysctl.set', key: op.key, value: step.previous } }];
  }
}

/** Every undo step of a plan, last step first. */
export function undoPlan(applied: AppliedPlan | readonly AppliedStep[]): KernelStep[] {
  const steps = 'steps' in applied ? applied.steps : applied;
  return [...steps].reverse().flatMap((s) => undoOf(s));
}
