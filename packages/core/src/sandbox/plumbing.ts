import type { JoinPlan } from '../spi/network-driver.js';
import { HOST_NS, type KernelOp, type KernelStep, type NetnsRef } from '../spi/kernel.js';

/** What {@link planJoinSteps} needs to move an endpoint's link into its sandbox and configure it there. */
export interface PlumbingInput {
  /** The sandbox's namespace. */
  sandboxNs: NetnsRef;
  /** The driver's join plan for the endpoint. */
  join: JoinPlan;
  /** Final interface name inside the sandbox (`eth0`, …). */
  ifname: string;
  /** MAC address to set on the interface. */
  mac?: string;
  /** Addresses with prefix. */
  ipv4?: string;
  /** IPv6 address with prefix. */
  ipv6?: string;
  /** The sandbox's namespace starts new interfaces with IPv6 off ({@link SandboxRecord.ipv6OffByDefault}). */
  ipv6OffByDefault?: boolean;
  /** Which families' default route this endpoint provides. */
  defaultRoute: {
    /** Add the IPv4 default route through this endpoint. */
    v4: boolean;
    /** Add the IPv6 default route through this endpoint. */
    v6: boolean;
  };
}

/**
 * Shared sandbox plumbing (as libnetwork does it): takes the link a driver created, moves it into the
 * sandbox, names it, sets MAC and MTU, addresses, brings it up and adds routes. Drivers stay small.
 * Returns the host-side steps first (the driver's own and the move), then the in-sandbox steps, so the
 * executor runs the whole attach in two batches.
 */
export function planJoinSteps(input: PlumbingInput): KernelStep[] {
  const { join, ifname, sandboxNs } = input;
  const host = (op: KernelOp): KernelStep => ({ ns: HOST_NS, op });
  const inside = (op: KernelOp): KernelStep => ({ ns: sandboxNs, op });
  const steps: KernelStep[] = join.hostSteps.map(host);
  if (!join.srcInSandbox) steps.push(host({ op: 'link.set', name: join.srcName, netns: sandboxNs }));
  if (join.srcName !== ifname) steps.push(inside({ op: 'link.set', name: join.srcName, newName: ifname }));
  if (input.mac !== undefined || join.mtu !== undefined) {
    steps.push(inside({ op: 'link.set', name: ifname, ...(input.mac ? { mac: input.mac } : {}), ...(join.mtu ? { mtu: join.mtu } : {}) }));
  }
  const noprefixroute = join.noPrefixRoute === true;
  if (input.ipv4) steps.push(inside({ op: 'addr.add', dev: ifname, cidr: input.ipv4, ...(noprefixroute ? { noprefixroute } : {}) }));
  if (input.ipv6) {
    // In a namespace whose interfaces start with IPv6 off, this one needs it on before its address.
    const on = input.ipv6OffByDefault ? ipv6Step(ifname, '0') : undefined;
    if (on) steps.push(inside(on));
    steps.push(inside({ op: 'addr.add', dev: ifname, cidr: input.ipv6, nodad: true, ...(noprefixroute ? { noprefixroute } : {}) }));
  } else if (!input.ipv6OffByDefault) {
    // As Docker: no IPv6 on an endpoint without an IPv6 address. An interface that comes up with IPv6
    // sends DAD probes, router solicitations and MLD reports, which a bridge floods to every port.
    // (A namespace Switchyard made has it off for new interfaces already.)
    const off = disableIpv6Step(ifname);
    if (off) steps.push(inside(off));
  }
  steps.push(inside({ op: 'link.set', name: ifname, up: true }));
  for (const r of join.staticRoutes ?? []) {
    steps.push(inside({ op: 'route.add', dst: r.dst, dev: ifname, ...(r.via ? { via: r.via, onlink: noprefixroute } : { scope: 'link' as const }) }));
  }
  steps.push(...defaultRouteSteps(input).map(inside));
  return steps;
}

/**
 * `net.ipv6.conf.<ifname>.disable_ipv6 = 1`, set before the link comes up so it never speaks IPv6;
 * a kernel without IPv6 has no such key and the step changes nothing. Undefined for a name a dotted
 * sysctl key cannot hold (one with a dot, as VLAN names have): such an interface keeps IPv6.
 */
export function disableIpv6Step(ifname: string): KernelOp | undefined {
  return ipv6Step(ifname, '1');
}

function ipv6Step(ifname: string, disabled: '0' | '1'): KernelOp | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(ifname)) return undefined;
  return { op: 'sysctl.set', key: `net.ipv6.conf.${ifname}.disable_ipv6`, value: disabled, missingOk: true };
}

/** The default route(s) an endpoint provides, as route.add operations inside its sandbox. */
export function defaultRouteSteps(input: Pick<PlumbingInput, 'join' | 'ifname' | 'defaultRoute'>): KernelOp[] {
  const { join, ifname } = input;
  const ops: KernelOp[] = [];
  const onlink = join.noPrefixRoute === true;
  for (const family of [4, 6] as const) {
    if (!(family === 4 ? input.defaultRoute.v4 : input.defaultRoute.v6)) continue;
    const via = family === 4 ? join.gateway4 : join.gateway6;
    if (join.connectedDefaultRoute) ops.push({ op: 'route.add', dst: 'default', dev: ifname, scope: 'link', family });
    else if (via) ops.push({ op: 'route.add', dst: 'default', via, dev: ifname, family, ...(onlink ? { onlink } : {}) });
  }
  return ops;
}

/** Which families an endpoint can provide a default route for. */
export function gatewayFamilies(
  join: JoinPlan,
  internal: boolean,
): {
  /** The endpoint can provide the IPv4 default route. */
  v4: boolean;
  /** The endpoint can provide the IPv6 default route. */
  v6: boolean;
} {
  if (internal || join.disableGateway) return { v4: false, v6: false };
  if (join.connectedDefaultRoute) return { v4: true, v6: true };
  return { v4: join.gateway4 !== undefined, v6: join.gateway6 !== undefined };
}
