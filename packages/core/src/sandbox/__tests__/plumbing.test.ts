import type { JoinPlan } from '../../spi/network-driver.js';
import type { KernelStep } from '../../spi/kernel.js';
import { planJoinSteps } from '../plumbing.js';

const join: JoinPlan = { hostSteps: [{ op: 'link.add', kind: 'veth', name: 'vh0', peer: { name: 'eth0', netns: { kind: 'named', name: 'sb' } } }], srcName: 'eth0', srcInSandbox: true };
const base = { sandboxNs: { kind: 'named', name: 'sb' } as const, join, ifname: 'eth0', defaultRoute: { v4: false, v6: false } };
/** The in-sandbox steps as short strings, in order. */
const inside = (steps: KernelStep[]) =>
  steps
    .filter((s) => s.ns.kind !== 'host')
    .map(({ op }) => (op.op === 'sysctl.set' ? `sysctl ${op.key}=${op.value}` : op.op === 'addr.add' ? `addr ${op.cidr}` : op.op === 'link.set' ? `link ${op.name}${op.up ? ' up' : ''}` : op.op));

describe('planJoinSteps and IPv6', () => {
  test('an IPv4-only endpoint in an adopted namespace gets IPv6 off before it comes up', () => {
    expect(inside(planJoinSteps({ ...base, ipv4: '10.1.0.2/24' }))).toEqual(['addr 10.1.0.2/24', 'sysctl net.ipv6.conf.eth0.disable_ipv6=1', 'link eth0 up']);
  });

  test('in a namespace Switchyard made (IPv6 off by default) an IPv4-only endpoint needs no step, a dual-stack one turns IPv6 on before its address', () => {
    expect(inside(planJoinSteps({ ...base, ipv4: '10.1.0.2/24', ipv6OffByDefault: true }))).toEqual(['addr 10.1.0.2/24', 'link eth0 up']);
    expect(inside(planJoinSteps({ ...base, ipv4: '10.1.0.2/24', ipv6: 'fd00::2/64', ipv6OffByDefault: true }))).toEqual(['addr 10.1.0.2/24', 'sysctl net.ipv6.conf.eth0.disable_ipv6=0', 'addr fd00::2/64', 'link eth0 up']);
  });

  test('a dual-stack endpoint in an adopted namespace touches no IPv6 switch, and a name a sysctl key cannot hold gets none', () => {
    expect(inside(planJoinSteps({ ...base, ipv4: '10.1.0.2/24', ipv6: 'fd00::2/64' }))).toEqual(['addr 10.1.0.2/24', 'addr fd00::2/64', 'link eth0 up']);
    expect(inside(planJoinSteps({ ...base, ifname: 'eth0.5', ipv4: '10.1.0.2/24' }))).toEqual(['link eth0', 'addr 10.1.0.2/24', 'link eth0.5 up']);
  });
});
