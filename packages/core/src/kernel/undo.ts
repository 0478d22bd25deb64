import type { AppliedPlan, KernelStep, LinkSetOp } from '../spi/kernel.js';

/**
 * The undo of each kernel step, shared by every executor so that rollback means the same thing
 * everywhere. Pure: the only state it needs (a sysctl's previous value) travels on the applied step.
 */

/** A step as it ran. A sysctl step carries the value it replaced, so it can be restored later. */
export interface AppliedStep extends KernelStep {
  readonly previous?: string;
}

function flip(v: boolean | undefined): boolean | undefined {
  return v === undefined ? undefined : !v;
}

function undoLinkSet(step: KernelStep, op: LinkSetOp): KernelStep[] {
  // After the step the link lives in the target namespace under its new name; undo starts there.
  const ns = op.netns ?? step.ns;
  const name = op.newName ?? op.name;
  const out: KernelStep[] = [];
  const attrs: { -readonly [K in keyof LinkSetOp]?: LinkSetOp[K] } = {};
  if (op.up !== undefined) attrs.up = flip(op.up);
  if (op.promisc !== undefined) attrs.promisc = flip(op.promisc);
  if (typeof op.master === 'string') attrs.master = null; // the previous master of a released link is unknown, so only enslaving is undone
  if (Object.keys(attrs).length > 0) out.push({ ns, op: { op: 'link.set', name, ...attrs } });
  if (op.netns !== undefined || op.newName !== undefined) {
    const back: { -readonly [K in keyof LinkSetOp]?: LinkSetOp[K] } = {};
    if (op.netns !== undefined) back.netns = step.ns;
    if (op.newName !== undefined) back.newName = op.name;
    out.push({ ns, op: { op: 'link.set', name, ...back } });
  }
  return out;
}

/**
 * The steps that undo one applied step, in the order they must run. MTU and MAC changes, deletions
 * and releases from a bridge have no undo (their previous values are unknown); boolean attributes
 * are flipped back.
 */
export function undoOf(step: AppliedStep): KernelStep[] {
  const op = step.op;
  switch (op.op) {
    case 'link.add':
      // Deleting the created link also deletes its veth peer, wherever that went.
      return [{ ns: op.netns ?? step.ns, op: { op: 'link.del', name: op.name } }];
    case 'link.del':
      return [];
    case 'link.set':
      return undoLinkSet(step, op);
    case 'bridge.port': {
      const flags = { hairpin: flip(op.hairpin), isolated: flip(op.isolated), learning: flip(op.learning) };
      const set = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
      return Object.keys(set).length ? [{ ns: step.ns, op: { op: 'bridge.port', name: op.name, ...set } }] : [];
    }
    case 'addr.add':
      return [{ ns: step.ns, op: { op: 'addr.del', dev: op.dev, cidr: op.cidr } }];
    case 'addr.del':
      return [{ ns: step.ns, op: { ...op, op: 'addr.add' } }];
    case 'route.add': {
      // Deleting matches on destination, gateway, device and metric; the other attributes are not needed.
      const del = Object.fromEntries(Object.entries({ dst: op.dst, via: op.via, dev: op.dev, metric: op.metric, family: op.family }).filter(([, v]) => v !== undefined));
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
