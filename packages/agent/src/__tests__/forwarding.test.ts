import { emptyForwarding, fdbKey, neighKey, planForwarding, AGENT_ROUTE_PROTOCOL, type ForwardingState } from '../forwarding.js';

function state(fdb: Array<[string, string, string]>, neigh: Array<[string, string, string]>, routes: Array<[string, string]>): ForwardingState {
  const s = emptyForwarding();
  for (const [dev, mac, dst] of fdb) s.fdb.set(fdbKey(dev, mac), { dev, mac, dst });
  for (const [dev, ip, mac] of neigh) s.neigh.set(neighKey(dev, ip), { dev, ip, mac });
  for (const [dst, via] of routes) s.routes.set(dst, { dst, via });
  return s;
}

describe('planForwarding', () => {
  it('adds what is missing, replaces what moved, removes what nobody wants, and leaves the rest alone', () => {
    const desired = state(
      [
        ['vx-4096', '02:00:00:00:00:01', '10.99.0.2'],
        ['vx-4096', '02:00:00:00:00:02', '10.99.0.3'],
      ],
      [['vx-4096', '10.200.0.2', '02:00:00:00:00:01']],
      [['10.210.1.0/24', '10.99.0.2']],
    );
    const actual = state(
      [
        ['vx-4096', '02:00:00:00:00:01', '10.99.0.2'],
        ['vx-4096', '02:00:00:00:00:02', '10.99.0.9'],
        ['vx-4096', '02:00:00:00:00:03', '10.99.0.3'],
      ],
      [['vx-4096', '10.200.0.9', '02:00:00:00:00:03']],
      [
        ['10.210.1.0/24', '10.99.0.2'],
        ['10.210.9.0/24', '10.99.0.9'],
      ],
    );
    const plan = planForwarding(desired, actual);
    expect(plan.bridge).toEqual(['fdb replace 02:00:00:00:00:02 dev vx-4096 dst 10.99.0.3 self permanent', 'fdb del 02:00:00:00:00:03 dev vx-4096 dst 10.99.0.3 self']);
    expect(plan.ip).toEqual(['neigh replace 10.200.0.2 lladdr 02:00:00:00:00:01 dev vx-4096 nud permanent', 'neigh del 10.200.0.9 dev vx-4096', `route del 10.210.9.0/24 via 10.99.0.9 proto ${AGENT_ROUTE_PROTOCOL}`]);
    expect(plan.counts).toEqual({ fdbAdded: 1, fdbRemoved: 1, neighAdded: 1, neighRemoved: 1, routesAdded: 0, routesRemoved: 1 });
  });

  it('plans nothing when the kernel already matches', () => {
    const s = state([['vx-1', '02:00:00:00:00:01', '10.0.0.1']], [['vx-1', '10.1.0.1', '02:00:00:00:00:01']], [['10.2.0.0/24', '10.0.0.1']]);
    const plan = planForwarding(s, state([['vx-1', '02:00:00:00:00:01', '10.0.0.1']], [['vx-1', '10.1.0.1', '02:00:00:00:00:01']], [['10.2.0.0/24', '10.0.0.1']]));
    expect([plan.bridge, plan.ip]).toEqual([[], []]);
  });
});
