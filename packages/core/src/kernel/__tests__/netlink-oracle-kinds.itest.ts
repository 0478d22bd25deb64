import { probeFeatures, requireLab } from '../../testing/lab.js';
import { closeOracle, expectSameAsIproute2, netlink, refusalSetup } from './oracle-harness.js';

// Real-kernel tests: run via scripts/lab.sh, and again under user-mode Linux (jest.config.js lists this
// file for both): dummy, ipvlan and 802.1Q are missing on this machine's kernel and present in UML's.

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
});
