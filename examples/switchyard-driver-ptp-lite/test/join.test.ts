import { isSwitchyardError, type DriverNetwork } from '@switchyard/core';
import manifest, { hostEndName } from '../src/index.js';
import { makeDeps } from './deps.js';

const network: DriverNetwork = { id: 'n1', name: 'lab', options: {}, state: {}, internal: false, ipv4: { subnet: '10.77.0.0/24', gateway: '10.77.0.1' } };
const endpoint = { id: 'c0ffee12'.padEnd(64, '0'), ifname: 'eth0', ipv4: '10.77.0.5/24', state: {} };
const sandbox = { id: 's1', netns: { kind: 'named' as const, name: 'sandbox-1' } };

describe('ptp-lite', () => {
  it('plans one veth pair per endpoint: gateway /32 on the host end, the peer created inside the sandbox', async () => {
    const driver = await manifest.create(makeDeps());
    const plan = await driver.join(network, endpoint, sandbox);

    expect(plan.hostSteps).toEqual([
      { op: 'link.add', kind: 'veth', name: 'ptlc0ffee12', peer: { name: 'ptcc0ffee12', netns: sandbox.netns } },
      { op: 'addr.add', dev: 'ptlc0ffee12', cidr: '10.77.0.1/32' },
      { op: 'link.set', name: 'ptlc0ffee12', up: true },
      { op: 'route.add', dst: '10.77.0.5/32', dev: 'ptlc0ffee12', scope: 'link' },
    ]);
    expect(plan).toMatchObject({ srcName: 'ptcc0ffee12', srcInSandbox: true, gateway4: '10.77.0.1', staticRoutes: [{ dst: '10.77.0.1/32' }], noPrefixRoute: true });
  });

  it('removes only the host end on leave, tolerating a pair that is already gone', async () => {
    const driver = await manifest.create(makeDeps());
    expect(await driver.leave(network, endpoint, sandbox)).toEqual({ hostSteps: [{ op: 'link.del', name: hostEndName(endpoint.id), ifExists: true }] });
  });

  it('refuses options it does not know and an MTU out of range, naming them', async () => {
    const driver = await manifest.create(makeDeps());
    const refusal = (options: Record<string, unknown>) =>
      Promise.resolve()
        .then(() => driver.validateNetworkOptions(options as never))
        .then(
          () => undefined,
          (e: unknown) => e,
        );

    const unknown = await refusal({ parent: 'eth0' });
    const mtu = await refusal({ mtu: 20 });

    expect(isSwitchyardError(unknown, 'SWY_ERR_INVALID_OPTION') && unknown.message).toContain('"parent"');
    expect(isSwitchyardError(mtu, 'SWY_ERR_INVALID_OPTION') && mtu.message).toContain('mtu');
    expect(await driver.validateNetworkOptions({ mtu: 1400 })).toEqual({ mtu: 1400 });
  });
});
