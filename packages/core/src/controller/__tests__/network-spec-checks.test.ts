import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import { fixtureDriver } from './fixture-driver.js';

describe('network specs Switchyard refuses before anything is made', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await createTestSwitchyard([fixtureDriver()]);
  });
  afterEach(() => sy.dispose());

  async function refused(spec: Parameters<TestSwitchyard['controller']['createNetwork']>[0]): Promise<unknown> {
    const kernel = sy.fake.snapshot();
    const err = await sy.controller.createNetwork(spec).catch((e: unknown) => e);
    expect({ kernel: sy.fake.snapshot(), networks: await sy.controller.listNetworks(), pools: sy.ipam.poolCount() }).toEqual({ kernel, networks: [], pools: 0 });
    return err;
  }

  it('refuses a subnet with host bits set, naming the network address it should be (as Docker and CNI do)', async () => {
    expect(await refused({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.61.0.5/24' }] } })).toMatchObject({
      code: 'SWY_ERR_INVALID_CIDR',
      message: 'Subnet 10.61.0.5/24 has host bits set: it should be 10.61.0.0/24',
    });
    expect(await refused({ name: 'n', driver: 'fixture', ipv6: true, ipv4: false, ipam: { ipv6: [{ subnet: 'fd00:61::5/64' }] } })).toMatchObject({
      code: 'SWY_ERR_INVALID_CIDR',
      message: expect.stringContaining('it should be fd00:61::/64'),
    });
  });

  it.each([
    ['loopback', '127.0.0.0/8'],
    ['link-local', '169.254.1.0/24'],
    ['multicast', '239.1.0.0/16'],
    ['"this network"', '0.0.0.0/0'],
  ])('refuses a %s subnet with SWY_ERR_INVALID_CIDR', async (what, subnet) => {
    expect(await refused({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet }] } })).toMatchObject({ code: 'SWY_ERR_INVALID_CIDR', message: expect.stringContaining(what) });
  });

  it.each([['fe80::/64'], ['ff02::/16'], ['::1/128']])('refuses the special IPv6 subnet %s', async (subnet) => {
    expect(await refused({ name: 'n', driver: 'fixture', ipv6: true, ipv4: false, ipam: { ipv6: [{ subnet }] } })).toMatchObject({ code: 'SWY_ERR_INVALID_CIDR' });
  });

  it.each([['host'], ['none'], ['all']])('refuses the network name %s, which run --net reserves', async (name) => {
    expect(await refused({ name, driver: 'fixture' })).toMatchObject({ code: 'SWY_ERR_INVALID_NAME', hint: expect.stringContaining('reserved') });
  });

  it('accepts private subnets written as their network address, /31 and /32 included', async () => {
    for (const [i, subnet] of ['10.61.0.0/24', '192.168.7.0/31', '172.16.5.9/32'].entries()) {
      expect((await sy.controller.createNetwork({ name: `ok${i}`, driver: 'fixture', ipam: { ipv4: [{ subnet }] } })).ipv4?.subnet).toBe(subnet);
    }
  });
});
