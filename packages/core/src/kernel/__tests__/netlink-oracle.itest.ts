import { requireLab } from '../../testing/lab.js';
import { HOST_NS, type KernelStep } from '../../spi/kernel.js';
import { closeOracle, expectSameAsIproute2, H, MACS, refusalSetup, type Spaces } from './oracle-harness.js';

// Real-kernel tests: run via scripts/lab.sh. The iproute2 executor is the oracle (see oracle-harness.ts).

beforeAll(() => requireLab());
afterAll(closeOracle);

const building = ({ a, b, c }: Spaces): KernelStep[] => [
  { ns: HOST_NS, op: { op: 'link.add', kind: 'bridge', name: `${H}br`, group: 7, mtu: 1450 } },
  { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: `${H}v0`, mac: MACS[0], mtu: 1400, peer: { name: 'tmp0', netns: a, mtu: 1400, mac: MACS[1] } } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}v0`, master: `${H}br`, up: true } },
  { ns: HOST_NS, op: { op: 'bridge.port', name: `${H}v0`, hairpin: true, isolated: true, learning: false } },
  { ns: HOST_NS, op: { op: 'addr.add', dev: `${H}br`, cidr: '10.90.0.1/24' } },
  { ns: HOST_NS, op: { op: 'addr.add', dev: `${H}br`, cidr: 'fd90::1/64', nodad: true } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}br`, up: true } },
  { ns: HOST_NS, op: { op: 'sysctl.set', key: `net.ipv4.conf.${H}br.forwarding`, value: '1' } },
  { ns: a, op: { op: 'link.set', name: 'tmp0', newName: 'eth0', mtu: 1380, promisc: true } },
  { ns: a, op: { op: 'addr.add', dev: 'eth0', cidr: '10.90.0.2/24' } },
  { ns: a, op: { op: 'addr.add', dev: 'eth0', cidr: 'fd90::2/64', nodad: true, noprefixroute: true } },
  { ns: a, op: { op: 'link.set', name: 'eth0', up: true } },
  { ns: a, op: { op: 'route.add', dst: 'default', via: '10.90.0.1' } },
  { ns: a, op: { op: 'route.add', dst: 'default', via: 'fd90::1', dev: 'eth0', onlink: true, family: 6 } },
  { ns: a, op: { op: 'route.add', dst: '10.91.0.0/16', via: '10.90.0.1', metric: 20, src: '10.90.0.2', mtu: 1300 } },
  { ns: a, op: { op: 'route.add', dst: '10.92.0.0/16', dev: 'eth0', scope: 'link' } },
  { ns: a, op: { op: 'route.add', dst: '192.168.5.5/32', dev: 'eth0' } },
  { ns: a, op: { op: 'link.add', kind: 'veth', name: 'low', peer: { name: 'lowp' } } },
  { ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'low', mode: 'private', netns: b } },
  { ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv1', parent: 'low', mode: 'vepa', mtu: 1300, mac: MACS[2], group: 3 } },
  { ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv2', parent: 'lowp', mode: 'passthru' } },
  { ns: a, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' } },
  { ns: c, op: { op: 'link.add', kind: 'veth', name: 'c0', peer: { name: 'c1', netns: b } } },
  { ns: c, op: { op: 'link.add', kind: 'bridge', name: 'cbr' } },
  { ns: c, op: { op: 'link.set', name: 'c0', master: 'cbr', up: true } },
  { ns: c, op: { op: 'bridge.port', name: 'c0', learning: false } },
  { ns: c, op: { op: 'addr.add', dev: 'cbr', cidr: '172.16.9.1/24' } },
  { ns: c, op: { op: 'sysctl.set', key: 'net.ipv6.conf.all.forwarding', value: '1' } },
  { ns: b, op: { op: 'link.set', name: 'c1', netns: c, newName: 'cx' } },
  { ns: c, op: { op: 'link.set', name: 'cx', up: true } },
  { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: `${H}m0`, peer: { name: `${H}m1` } } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}m1`, netns: a, newName: 'eth1' } },
  { ns: a, op: { op: 'link.set', name: 'eth1', mac: MACS[3], up: true } },
  { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'nsv0', netns: b, peer: { name: `${H}n1` } } },
  { ns: b, op: { op: 'link.set', name: 'nsv0', up: true } },
];

const changing = ({ a, b, c }: Spaces): KernelStep[] => [
  { ns: a, op: { op: 'route.del', dst: '10.91.0.0/16' } },
  { ns: a, op: { op: 'route.del', dst: '192.168.5.5/32', dev: 'eth0' } },
  { ns: a, op: { op: 'addr.del', dev: 'eth0', cidr: 'fd90::2/64' } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}v0`, master: null } },
  { ns: b, op: { op: 'link.set', name: 'mv0', promisc: true, up: true } },
  { ns: c, op: { op: 'link.del', name: 'c0' } },
  { ns: a, op: { op: 'link.del', name: 'gone', ifExists: true } },
  { ns: a, op: { op: 'link.set', name: 'mv1', up: true } },
  // Retiring (down, renamed into a group) and deleting a group: eth1's host peer goes with it.
  { ns: a, op: { op: 'link.set', name: 'eth1', up: false, ifExists: true } },
  { ns: a, op: { op: 'link.set', name: 'eth1', newName: 'swyrgone', group: 21335, ifExists: true } },
  { ns: a, op: { op: 'link.set', name: 'eth9', up: false, ifExists: true } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}v0`, up: false, group: 9 } },
  { ns: a, op: { op: 'group.del', group: 21335 } },
  { ns: b, op: { op: 'group.del', group: 21335 } },
];

const failingLate = ({ a, b }: Spaces): KernelStep[] => [
  { ns: a, op: { op: 'link.set', name: 'eth0', up: false, mtu: 1300, mac: MACS[4] } },
  { ns: a, op: { op: 'addr.add', dev: 'eth0', cidr: '10.93.0.2/24' } },
  { ns: a, op: { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '0' } },
  { ns: HOST_NS, op: { op: 'link.set', name: `${H}v0`, master: `${H}br` } },
  { ns: HOST_NS, op: { op: 'bridge.port', name: `${H}v0`, hairpin: false } },
  { ns: b, op: { op: 'link.add', kind: 'bridge', name: 'mv0' } }, // exists: everything above is undone
];

describe('NetlinkExecutor against the iproute2 executor as oracle', () => {
  it('leaves the same links, addresses and routes in host, named and path namespaces for plans using every operation and option', async () => {
    const results = await expectSameAsIproute2((s) => [
      { label: 'build', steps: building(s) },
      { label: 'change', steps: changing(s) },
      { label: 'fail at the last step and roll back', steps: failingLate(s) },
    ]);
    expect(results).toEqual(['build: ok', 'change: ok', 'fail at the last step and roll back: SWY_ERR_LINK_EXISTS', 'revert of 14 steps: ok', 'revert of 35 steps: ok']);
  });

  it('fails with the same codes and leaves the same state when the kernel refuses a route or an address', async () => {
    const results = await expectSameAsIproute2((s) => {
      const { a } = s;
      return [
        { label: 'setup', steps: refusalSetup(s) },
        { label: 'device down', steps: [{ ns: a, op: { op: 'route.add', dst: '10.96.0.0/16', dev: 'v0' } }] },
        { label: 'bring v0 up', steps: [{ ns: a, op: { op: 'link.set', name: 'v0', up: true } }] },
        {
          label: 'unreachable gateway',
          steps: [
            { ns: a, op: { op: 'route.add', dst: '10.99.0.0/16', via: '10.95.0.1' } },
            { ns: a, op: { op: 'route.add', dst: 'default', via: '10.97.0.1' } },
          ],
        },
        { label: 'onlink gateway', steps: [{ ns: a, op: { op: 'route.add', dst: 'default', via: '10.97.0.1', dev: 'v0', onlink: true } }] },
        { label: 'duplicate address', steps: [{ ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.1/24' } }] },
        { label: 'address not there', steps: [{ ns: a, op: { op: 'addr.del', dev: 'v0', cidr: '10.95.0.7/24' } }] },
        { label: 'route not there', steps: [{ ns: a, op: { op: 'route.del', dst: '10.98.0.0/16' } }] },
        {
          label: 'the primary address takes its secondary along',
          steps: [
            { ns: a, op: { op: 'addr.add', dev: 'v0', cidr: '10.95.0.9/24' } },
            { ns: a, op: { op: 'addr.del', dev: 'v0', cidr: '10.95.0.1/24' } },
          ],
        },
      ];
    });
    expect(results).toEqual([
      'setup: ok',
      'device down: SWY_ERR_KERNEL_OP_FAILED',
      'bring v0 up: ok',
      'unreachable gateway: SWY_ERR_KERNEL_OP_FAILED',
      'onlink gateway: ok',
      'duplicate address: SWY_ERR_KERNEL_OP_FAILED',
      'address not there: SWY_ERR_KERNEL_OP_FAILED',
      'route not there: SWY_ERR_KERNEL_OP_FAILED',
      'the primary address takes its secondary along: ok',
      'revert of 2 steps: ok',
      'revert of 1 steps: ok',
      'revert of 1 steps: ok',
      'revert of 5 steps: ok',
    ]);
  });

  it('fails with the same codes and leaves the same state when the kernel refuses a link change', async () => {
    const results = await expectSameAsIproute2((s) => {
      const { a, b } = s;
      return [
        { label: 'setup', steps: refusalSetup(s) },
        { label: 'bridges cannot move', steps: [{ ns: a, op: { op: 'link.set', name: 'br0', netns: b } }] },
        { label: 'macvlan above its parent MTU', steps: [{ ns: b, op: { op: 'link.add', kind: 'macvlan', name: 'mv0', parent: 'v1', mode: 'bridge', mtu: 9000 } }] },
        { label: 'rename onto an existing name', steps: [{ ns: a, op: { op: 'link.set', name: 'v0', newName: 'br0' } }] },
        { label: 'not a bridge port', steps: [{ ns: a, op: { op: 'bridge.port', name: 'v0', hairpin: true } }] },
        { label: 'existing link in the host namespace', steps: [{ ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: `${H}x`, peer: { name: `${H}y` } } }] },
        { label: 'deleting a veth end deletes the peer in the other namespace', steps: [{ ns: a, op: { op: 'link.del', name: 'v0' } }] },
      ];
    });
    expect(results).toEqual([
      'setup: ok',
      'bridges cannot move: SWY_ERR_KERNEL_OP_FAILED',
      'macvlan above its parent MTU: SWY_ERR_KERNEL_OP_FAILED',
      'rename onto an existing name: SWY_ERR_LINK_EXISTS',
      'not a bridge port: SWY_ERR_KERNEL_OP_FAILED',
      'existing link in the host namespace: SWY_ERR_LINK_EXISTS',
      'deleting a veth end deletes the peer in the other namespace: ok',
      'revert of 1 steps: ok',
      'revert of 5 steps: ok',
    ]);
  });

  it('fails with the same codes and leaves the same state for missing devices and namespaces and sysctls', async () => {
    const results = await expectSameAsIproute2((s) => {
      const { a, c } = s;
      return [
        { label: 'setup', steps: refusalSetup(s) },
        { label: 'missing device', steps: [{ ns: a, op: { op: 'link.set', name: 'nosuch', up: true } }] },
        { label: 'address on a missing device', steps: [{ ns: c, op: { op: 'addr.add', dev: 'nosuch', cidr: '10.0.0.1/24' } }] },
        {
          label: 'missing master',
          steps: [
            { ns: c, op: { op: 'link.set', name: 'p0', up: true } },
            { ns: c, op: { op: 'link.set', name: 'p1', master: 'nobr' } },
          ],
        },
        { label: 'missing parent', steps: [{ ns: a, op: { op: 'link.add', kind: 'macvlan', name: 'mv9', parent: 'nosuch', mode: 'bridge' } }] },
        {
          label: 'missing namespace',
          steps: [
            { ns: a, op: { op: 'link.set', name: 'v0', up: false } },
            { ns: { kind: 'named', name: 'no-such-ns' }, op: { op: 'link.set', name: 'lo', up: true } },
          ],
        },
        { label: 'missing peer namespace', steps: [{ ns: a, op: { op: 'link.add', kind: 'veth', name: 'q0', peer: { name: 'q1', netns: { kind: 'path', path: '/run/netns/no-such-ns' } } } }] },
        { label: 'no such sysctl', steps: [{ ns: c, op: { op: 'sysctl.set', key: 'net.ipv4.no_such_key', value: '1' } }] },
      ];
    });
    expect(results).toEqual([
      'setup: ok',
      'missing device: SWY_ERR_LINK_NOT_FOUND',
      'address on a missing device: SWY_ERR_LINK_NOT_FOUND',
      'missing master: SWY_ERR_LINK_NOT_FOUND',
      'missing parent: SWY_ERR_LINK_NOT_FOUND',
      'missing namespace: SWY_ERR_NETNS_NOT_FOUND',
      'missing peer namespace: SWY_ERR_NETNS_NOT_FOUND',
      'no such sysctl: SWY_ERR_KERNEL_OP_FAILED',
      'revert of 5 steps: ok',
    ]);
  });
});
