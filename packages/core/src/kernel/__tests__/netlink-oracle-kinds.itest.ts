import { probeFeatures, requireLab } from '../../testing/lab.js';
import { closeOracle, expectSameAsIproute2, MACS, netlink, refusalSetup } from './oracle-harness.js';

// Real-kernel tests: run via scripts/lab.sh, and again under user-mode Linux (jest.config.js lists this
// file for both): dummy, ipvlan and 802.1Q are missing on this machine's kernel and present in UML's; vxlan is
// present here, and in UML when its module is loaded.

beforeAll(() => requireLab());
afterAll(closeOracle);

describe('NetlinkExecutor against the iproute2 executor, for link kinds a kernel may lack', () => {
  it('creates dummy, ipvlan and 802.1Q links exactly as iproute2 does where the probe says they exist, and fails with the same code where not', async () => {
    const results = await expectSameAsIproute2((s) => {
      const { a, b } = s;
      return [
        { label: 'setup', steps: refusalSetup(s) },
        { label: 'dummy', steps: [{ ns: b, op: { op: 'link.add', kind: 'dummy', name: 'd0' } }] },
        { label: 'ipvlan', steps: [{ ns: a, op: { op: 'link.add', kind: 'ipvlan', name: 'ipv0', parent: 'v0', mode: 'l2', flag: 'bridge' } }] },
        { label: 'vlan', steps: [{ ns: a, op: { op: 'link.add', kind: 'vlan', name: 'vl0', parent: 'v0', vlanId: 7 } }] },
      ];
    });
    const features = await probeFeatures(netlink);
    const optional = (['dummy', 'ipvlan', 'vlan'] as const).map((kind) => ({ kind, present: features[kind] }));
    expect(results).toEqual([
      'setup: ok',
      ...optional.map(({ kind, present }) => `${kind}: ${present ? 'ok' : 'SWY_ERR_KERNEL_FEATURE_MISSING'}`),
      ...optional.filter((o) => o.present).map(() => 'revert of 1 steps: ok'),
      'revert of 5 steps: ok',
    ]);
  });

  it('creates vxlan links exactly as iproute2 does (VNI, port, learning, proxy, local of both families, as a bridge port), and refuses a second one of the same VNI and port with the same code', async () => {
    const results = await expectSameAsIproute2((s) => {
      const { a, b, c } = s;
      return [
        { label: 'setup', steps: refusalSetup(s) },
        {
          label: 'vxlan',
          steps: [
            { ns: a, op: { op: 'link.add', kind: 'vxlan', name: 'vx0', vni: 4096, local: '10.95.0.1', mtu: 1450 } },
            { ns: a, op: { op: 'link.set', name: 'vx0', master: 'br0', up: true } },
            { ns: b, op: { op: 'link.add', kind: 'vxlan', name: 'vx1', vni: 16777215, port: 8472, local: 'fd00::95', learning: true, proxy: false } },
            { ns: c, op: { op: 'link.add', kind: 'vxlan', name: 'vx2', vni: 1, group: 4, mac: MACS[0] as string } },
          ],
        },
        { label: 'same VNI and port', steps: [{ ns: a, op: { op: 'link.add', kind: 'vxlan', name: 'vx9', vni: 4096, local: '10.95.0.9' } }] },
      ];
    });
    const present = (await probeFeatures(netlink)).vxlan;
    expect(results).toEqual(
      present
        ? ['setup: ok', 'vxlan: ok', 'same VNI and port: SWY_ERR_LINK_EXISTS', 'revert of 4 steps: ok', 'revert of 5 steps: ok']
        : ['setup: ok', 'vxlan: SWY_ERR_KERNEL_FEATURE_MISSING', 'same VNI and port: SWY_ERR_KERNEL_FEATURE_MISSING', 'revert of 5 steps: ok'],
    );
  });
});
