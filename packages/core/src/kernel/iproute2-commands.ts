import { vxlanSettings, type KernelOp, type LinkAddOp, type NetnsRef, type RouteOp } from '../spi/kernel.js';

/**
 * Pure translation of kernel operations into iproute2 batch lines (one argv array per operation).
 * Inputs are expected to be normalised (normalize-step.ts), which guarantees that no token holds
 * whitespace, quotes, '#' or a backslash; keywords are always explicit (`name`, `dev`) so a link
 * called "type" or "up" cannot be misread.
 */

export interface CommandContext {
  /** iproute2's directory of named namespaces (compiled in as /run/netns). */
  readonly netnsDir: string;
  /** A path to the namespace Switchyard runs in, usable from inside other namespaces. */
  readonly hostNetnsPath: string;
}

export const DEFAULT_NETNS_DIR = '/run/netns';

export function defaultCommandContext(): CommandContext {
  return { netnsDir: DEFAULT_NETNS_DIR, hostNetnsPath: `/proc/${process.pid}/ns/net` };
}

/** Path of a namespace. Always a path: a bare name that is missing would make ip try it as a PID. */
export function netnsPath(ref: NetnsRef, ctx: CommandContext): string {
  return ref.kind === 'host' ? ctx.hostNetnsPath : ref.kind === 'named' ? `${ctx.netnsDir}/${ref.name}` : ref.path;
}

function onOff(v: boolean): string {
  return v ? 'on' : 'off';
}

function linkAddArgs(op: LinkAddOp, ctx: CommandContext): string[] {
  const args = ['link', 'add', 'name', op.name];
  if ('parent' in op) args.push('link', op.parent);
  if (op.mtu !== undefined) args.push('mtu', String(op.mtu));
  if (op.mac !== undefined) args.push('address', op.mac);
  if (op.group !== undefined) args.push('group', String(op.group));
  if (op.netns !== undefined) args.push('netns', netnsPath(op.netns, ctx));
  args.push('type', op.kind);
  switch (op.kind) {
    case 'veth': {
      const p = op.peer;
      args.push('peer', 'name', p.name);
      if (p.mtu !== undefined) args.push('mtu', String(p.mtu));
      if (p.mac !== undefined) args.push('address', p.mac);
      if (p.netns !== undefined) args.push('netns', netnsPath(p.netns, ctx));
      break;
    }
    case 'macvlan':
      args.push('mode', op.mode);
      break;
    case 'ipvlan':
      args.push('mode', op.mode, op.flag);
      break;
    case 'vlan':
      args.push('id', String(op.vlanId));
      break;
    case 'vxlan': {
      const v = vxlanSettings(op);
      // dstport always: without it the kernel takes 8472, not IANA's 4789 (ip warns about it).
      args.push('id', String(v.vni), 'dstport', String(v.port));
      if (v.local !== undefined) args.push('local', v.local);
      args.push(v.learning ? 'learning' : 'nolearning');
      if (v.proxy) args.push('proxy');
      break;
    }
    default:
      break;
  }
  return args;
}

function routeArgs(op: RouteOp): string[] {
  // A batch line cannot carry -6; an IPv6 default route with no gateway is spelt ::/0 instead.
  const dst = op.dst === 'default' && op.family === 6 && op.via === undefined ? '::/0' : op.dst;
  const args = ['route', op.op === 'route.add' ? 'add' : 'del', dst];
  if (op.via !== undefined) args.push('via', op.via);
  if (op.dev !== undefined) args.push('dev', op.dev);
  if (op.scope !== undefined) args.push('scope', op.scope);
  if (op.src !== undefined) args.push('src', op.src);
  if (op.metric !== undefined) args.push('metric', String(op.metric));
  if (op.mtu !== undefined) args.push('mtu', String(op.mtu));
  if (op.onlink) args.push('onlink');
  return args;
}

/** The argv of one `ip -batch` line for an operation (sysctl.set is not an ip command). */
export function toBatchArgs(op: Exclude<KernelOp, { op: 'sysctl.set' }>, ctx: CommandContext): string[] {
  switch (op.op) {
    case 'link.add':
      return linkAddArgs(op, ctx);
    case 'link.del':
      return ['link', 'del', 'dev', op.name];
    case 'group.del':
      return ['link', 'del', 'group', String(op.group)];
    case 'link.set': {
      // One message: the kernel moves first, renames in the target, then applies the rest.
      const args = ['link', 'set', 'dev', op.name];
      if (op.netns !== undefined) args.push('netns', netnsPath(op.netns, ctx));
      if (op.newName !== undefined) args.push('name', op.newName);
      if (op.mtu !== undefined) args.push('mtu', String(op.mtu));
      if (op.mac !== undefined) args.push('address', op.mac);
      if (op.master === null) args.push('nomaster');
      else if (op.master !== undefined) args.push('master', op.master);
      if (op.promisc !== undefined) args.push('promisc', onOff(op.promisc));
      if (op.group !== undefined) args.push('group', String(op.group));
      if (op.up !== undefined) args.push(op.up ? 'up' : 'down');
      return args;
    }
    case 'bridge.port': {
      const args = ['link', 'set', 'dev', op.name, 'type', 'bridge_slave'];
      if (op.hairpin !== undefined) args.push('hairpin', onOff(op.hairpin));
      if (op.isolated !== undefined) args.push('isolated', onOff(op.isolated));
      if (op.learning !== undefined) args.push('learning', onOff(op.learning));
      return args;
    }
    case 'addr.add':
    case 'addr.del': {
      const args = ['addr', op.op === 'addr.add' ? 'add' : 'del', op.cidr, 'dev', op.dev];
      if (op.op === 'addr.add') {
        if (op.nodad && op.cidr.includes(':')) args.push('nodad'); // DAD exists for IPv6 only
        if (op.noprefixroute) args.push('noprefixroute');
      }
      return args;
    }
    case 'route.add':
    case 'route.del':
      return routeArgs(op);
  }
}

/** One batch line: the argv joined by spaces (safe because normalised tokens hold no whitespace). */
export function toBatchLine(op: Exclude<KernelOp, { op: 'sysctl.set' }>, ctx: CommandContext): string {
  return toBatchArgs(op, ctx).join(' ');
}

/** The sysctl key as a path below /proc/sys. */
export function sysctlProcPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

export interface Invocation {
  readonly file: string;
  readonly args: string[];
}

export interface ToolPaths {
  readonly ip: string;
  readonly nsenter: string;
}

/** How to run `ip ARGS` inside a namespace: plain for host, `ip -n` for named, nsenter for paths. */
export function ipIn(ns: NetnsRef, args: readonly string[], tools: ToolPaths): Invocation {
  if (ns.kind === 'host') return { file: tools.ip, args: [...args] };
  if (ns.kind === 'named') return { file: tools.ip, args: ['-n', ns.name, ...args] };
  return { file: tools.nsenter, args: [`--net=${ns.path}`, tools.ip, ...args] };
}

/** How to run any program inside a namespace (nsenter for both named and path namespaces). */
export function programIn(ns: NetnsRef, argv: readonly string[], tools: ToolPaths, ctx: CommandContext): Invocation {
  const [file, ...rest] = argv;
  if (file === undefined) throw new TypeError('programIn needs a program to run');
  if (ns.kind === 'host') return { file, args: rest };
  return { file: tools.nsenter, args: [`--net=${netnsPath(ns, ctx)}`, file, ...rest] };
}
