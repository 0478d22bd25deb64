import { harness, type Harness } from './harness.js';

describe('switchyard connect / disconnect', () => {
  let h: Harness;
  beforeEach(async () => {
    h = harness();
    await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
    await h.run('sandbox', 'create', 'web1');
  });
  afterEach(() => h.dispose());

  test('connect gives the sandbox eth0 with the next address and says so', async () => {
    const r = await h.run('connect', 'frontend', 'web1');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('connected web1 to frontend: eth0 10.88.0.2/24, gateway 10.88.0.1 (default route)\n');
    expect(h.fake.linkNames({ kind: 'named', name: 'web1' })).toContain('eth0');
  });

  test('connect --json returns the endpoint with the static address, MAC, interface name and aliases asked for', async () => {
    const r = await h.run('connect', 'frontend', 'web1', '--ip', '10.88.0.50', '--mac', '02:42:0A:58:00:32', '--ifname', 'front0', '--alias', 'api', '--alias', 'www', '--priority', '5', '--json');
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({
      endpoint: expect.objectContaining({ ipv4: '10.88.0.50/24', mac: '02:42:0a:58:00:32', ifname: 'front0', aliases: ['api', 'www'], gatewayPriority: 5 }),
      createdNetwork: null,
    });
  });

  test('a bad --ip is refused with exit 2 before anything changes', async () => {
    const before = h.fake.snapshot();
    const r = await h.run('connect', 'frontend', 'web1', '--ip', '10.88.0.300');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: --ip "10.88.0.300" is not an IPv4 address\nhint: Write it like --ip 10.88.0.5 (no prefix length).\ncode: SWY_ERR_INVALID_CIDR\n');
    expect(h.fake.snapshot()).toEqual(before);
  });

  test('an IPv6 address given to --ip is refused', async () => {
    const r = await h.run('connect', 'frontend', 'web1', '--ip', 'fd00::5', '--json');
    expect(r.code).toBe(2);
    expect(r.json().error.code).toBe('SWY_ERR_INVALID_CIDR');
  });

  test('a bad --mac is refused with SWY_ERR_INVALID_MAC', async () => {
    const r = await h.run('connect', 'frontend', 'web1', '--mac', 'zz:zz');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('code: SWY_ERR_INVALID_MAC');
  });

  test('an address already taken exits 4 and leaves no interface behind', async () => {
    await h.run('sandbox', 'create', 'web2');
    await h.run('connect', 'frontend', 'web1', '--ip', '10.88.0.9');
    const r = await h.run('connect', 'frontend', 'web2', '--ip', '10.88.0.9');
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('code: SWY_ERR_ADDRESS_IN_USE');
    expect(h.fake.linkNames({ kind: 'named', name: 'web2' })).toEqual(['lo']);
  });

  test('unknown network exits 3 and says where networks come from', async () => {
    const r = await h.run('connect', 'nope', 'web1');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('error: No network named "nope": it is not created, not declared in');
    expect(r.stderr).toContain('code: SWY_ERR_NETWORK_NOT_FOUND');
  });

  test('unknown sandbox exits 3', async () => {
    const r = await h.run('connect', 'frontend', 'ghost', '--json');
    expect(r.code).toBe(3);
    expect(r.json().error).toMatchObject({ code: 'SWY_ERR_SANDBOX_NOT_FOUND', kind: 'NotFound' });
  });

  test('disconnect removes the interface; a second disconnect exits 3', async () => {
    await h.run('connect', 'frontend', 'web1');
    const r = await h.run('disconnect', 'frontend', 'web1');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('disconnected web1 from frontend (eth0 removed)\n');
    expect(h.fake.linkNames({ kind: 'named', name: 'web1' })).toEqual(['lo']);
    const again = await h.run('disconnect', 'frontend', 'web1');
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('code: SWY_ERR_ENDPOINT_NOT_FOUND');
  });

  test('connecting to a network declared in net.d creates it on first use, then reuses it', async () => {
    h.netConf('20-lan.conf', { name: 'lan', type: 'bridge', isGateway: true, ipam: { type: 'host-local', subnet: '10.77.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } });
    const first = await h.run('connect', 'lan', 'web1', '--json');
    expect(first.code).toBe(0);
    expect(first.json().createdNetwork).toEqual({ name: 'lan', from: 'net.d' });
    expect(first.json().endpoint.ipv4).toBe('10.77.0.2/24');
    expect(first.stderr).toContain(`created network lan from ${h.netDir}/20-lan.conf on first use`);
    await h.run('sandbox', 'create', 'web2');
    const second = await h.run('connect', 'lan', 'web2', '--json');
    expect(second.json().createdNetwork).toBeNull();
  });

  test("connecting to rkt's default preset creates it (veth, 172.16.28.0/24)", async () => {
    const r = await h.run('connect', 'default', 'web1', '--json');
    expect(r.code).toBe(0);
    expect(r.json().createdNetwork).toEqual({ name: 'default', from: 'preset' });
    expect(r.json().endpoint.ipv4).toMatch(/^172\.16\.28\.\d+\/24$/);
    const n = (await h.run('network', 'inspect', 'default', '--json')).json().network;
    expect(n.driver).toBe('veth');
  });

  test('a net.d file named default overrides the preset (the user wins)', async () => {
    h.netConf('50-default.conf', { name: 'default', type: 'bridge', ipam: { subnet: '10.55.0.0/24' } });
    const r = await h.run('connect', 'default', 'web1', '--json');
    expect(r.json().endpoint.ipv4).toBe('10.55.0.2/24');
    expect((await h.run('network', 'inspect', 'default', '--json')).json().network.driver).toBe('bridge');
  });
});
