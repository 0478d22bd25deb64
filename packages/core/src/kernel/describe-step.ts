import { vxlanSettings, type KernelOp, type KernelStep, type NetnsRef } from '../spi/kernel.js';

/** Plain-words descriptions of namespaces and steps, for error messages a person reads. */

/** Stable key of a namespace reference: grouping steps and comparing references. */
export function nsKey(ns: NetnsRef): string {
  return ns.kind === 'host' ? 'host' : ns.kind === 'named' ? `named:${ns.name}` : `path:${ns.path}`;
}

/** True when two references name the same namespace (same kind and name or path). */
export function sameNs(a: NetnsRef, b: NetnsRef): boolean {
  return nsKey(a) === nsKey(b);
}

/** A namespace in words, for error messages: `the host namespace`, `namespace "x"` or `namespace /path`. */
export function describeNs(ns: NetnsRef): string {
  return ns.kind === 'host' ? 'the host namespace' : ns.kind === 'named' ? `namespace "${ns.name}"` : `namespace ${ns.path}`;
}

function onOff(v: boolean): string {
  return v ? 'on' : 'off';
}

/** An operation in words, for error messages and dry runs, e.g. `add address 10.1.0.2/24 to "eth0"`. */
export function describeOp(op: KernelOp): string {
  switch (op.op) {
    case 'link.add': {
      const where = op.netns ? ` in ${describeNs(op.netns)}` : '';
      if (op.kind === 'veth') return `create veth link "${op.name}"${where} with peer "${op.peer.name}"${op.peer.netns ? ` in ${describeNs(op.peer.netns)}` : ''}`;
      if (op.kind === 'macvlan' || op.kind === 'ipvlan') return `create ${op.kind} link "${op.name}" on "${op.parent}" (mode ${op.mode})${where}`;
      if (op.kind === 'vlan') return `create vlan link "${op.name}" (id ${op.vlanId}) on "${op.parent}"${where}`;
      if (op.kind === 'vxlan') {
        const v = vxlanSettings(op);
        return `create vxlan link "${op.name}" (VNI ${v.vni}, UDP port ${v.port}${v.local ? `, local ${v.local}` : ''})${where}`;
      }
      return `create ${op.kind} link "${op.name}"${where}`;
    }
    case 'link.del':
      return `delete link "${op.name}"`;
    case 'group.del':
      return `delete every link in link group ${op.group}`;
    case 'link.set': {
      const parts: string[] = [];
      if (op.netns) parts.push(`move to ${describeNs(op.netns)}`);
      if (op.newName) parts.push(`rename to "${op.newName}"`);
      if (op.mtu !== undefined) parts.push(`mtu ${op.mtu}`);
      if (op.mac) parts.push(`mac ${op.mac}`);
      if (op.master !== undefined) parts.push(op.master === null ? 'release from its bridge' : `attach to bridge "${op.master}"`);
      if (op.promisc !== undefined) parts.push(`promisc ${onOff(op.promisc)}`);
      if (op.group !== undefined) parts.push(`link group ${op.group}`);
      if (op.up !== undefined) parts.push(op.up ? 'bring up' : 'bring down');
      return `change link "${op.name}" (${parts.join(', ') || 'no change'})`;
    }
    case 'bridge.port': {
      const flags = (['hairpin', 'isolated', 'learning'] as const).filter((f) => op[f] !== undefined).map((f) => `${f} ${onOff(op[f] as boolean)}`);
      return `set bridge-port flags on "${op.name}" (${flags.join(', ') || 'none'})`;
    }
    case 'addr.add':
      return `add address ${op.cidr} to "${op.dev}"`;
    case 'addr.del':
      return `remove address ${op.cidr} from "${op.dev}"`;
    case 'route.add':
    case 'route.del': {
      const route = [op.dst, op.via ? `via ${op.via}` : '', op.dev ? `dev ${op.dev}` : '', op.metric !== undefined ? `metric ${op.metric}` : ''].filter(Boolean).join(' ');
      return `${op.op === 'route.add' ? 'add' : 'delete'} route ${route}`;
    }
    case 'sysctl.set':
      return `set sysctl ${op.key} to "${op.value}"`;
  }
}

/** A step in words: its operation and the namespace it runs in. */
export function describeStep(step: KernelStep): string {
  return `${describeOp(step.op)} in ${describeNs(step.ns)}`;
}
