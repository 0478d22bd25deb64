import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { harness, tableRows, type Harness } from './harness.js';

describe('switchyard network', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(() => h.dispose());

  test('create makes a bridge network by default and says its subnet and gateway', async () => {
    const r = await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^created network frontend \(bridge, 10\.88\.0\.0\/24, gateway 10\.88\.0\.1\)/);
    expect(r.stdout).toMatch(/id [0-9a-f]{64}/);
    // The bridge driver made a bridge link in the (fake) host namespace.
    expect(h.fake.linkNames().some((n) => n.startsWith('swy'))).toBe(true);
  });

  test('create --json prints the network record', async () => {
    const r = await h.run('network', 'create', 'backend', '--driver', 'veth', '--subnet', '10.89.0.0/24', '--label', 'team=db', '--json');
    expect(r.code).toBe(0);
    const { network } = r.json();
    expect(network).toMatchObject({ name: 'backend', driver: 'veth', ipv4: { subnet: '10.89.0.0/24', gateway: '10.89.0.1' }, labels: { team: 'db' }, internal: false });
  });

  test('create passes -o options to the driver and IPv6 flags to IPAM', async () => {
    const r = await h.run('network', 'create', 'dual', '--subnet6', 'fd00:88::/64', '-o', 'mtu=1400', '-o', 'hairpinMode=true', '--internal', '--json');
    expect(r.code).toBe(0);
    const { network } = r.json();
    expect(network.options).toMatchObject({ mtu: 1400, hairpinMode: true });
    expect(network.ipv6.subnet).toBe('fd00:88::/64');
    expect(network.internal).toBe(true);
  });

  test('ls shows one aligned row per network with driver, subnet, gateway and sandbox count', async () => {
    await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
    await h.run('network', 'create', 'backend', '--driver', 'veth', '--subnet', '10.89.0.0/24');
    await h.run('sandbox', 'create', 'web1');
    await h.run('connect', 'frontend', 'web1');
    const r = await h.run('network', 'ls');
    expect(r.code).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['NAME', 'DRIVER', 'SUBNET', 'GATEWAY', 'IPV6 SUBNET', 'SANDBOXES', 'STATUS', 'ID']);
    expect(rows[1]?.slice(0, 7)).toEqual(['backend', 'veth', '10.89.0.0/24', '10.89.0.1', '-', '0', 'ok']);
    expect(rows[2]?.slice(0, 7)).toEqual(['frontend', 'bridge', '10.88.0.0/24', '10.88.0.1', '-', '1', 'ok']);
    // Columns line up: every row's DRIVER column starts at the same offset.
    const lines = r.stdout.trim().split('\n');
    const at = lines.map((l) => l.search(/(DRIVER|veth|bridge)/));
    expect(new Set(at).size).toBe(1);
  });

  test('ls --json lists records and the networks net.d declares but nothing created yet', async () => {
    await h.run('network', 'create', 'frontend');
    h.netConf('10-lan.conf', { name: 'lan', type: 'bridge', ipam: { type: 'host-local', subnet: '10.77.0.0/24' } });
    const r = await h.run('network', 'ls', '--json');
    const out = r.json();
    expect(out.networks.map((n: { name: string }) => n.name)).toEqual(['frontend']);
    expect(out.declared).toEqual([{ name: 'lan', driver: 'bridge', file: join(h.netDir, '10-lan.conf') }]);
    const human = await h.run('network', 'ls');
    expect(human.stdout).toContain(`Declared in ${h.netDir}, created on first use:`);
    expect(human.stdout).toContain('lan (bridge,');
  });

  test('ls with no networks says how to make one', async () => {
    const r = await h.run('network', 'ls');
    expect(r.stdout).toContain('No networks yet');
  });

  test('inspect shows the record and the connected sandboxes', async () => {
    await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
    await h.run('sandbox', 'create', 'web1');
    await h.run('connect', 'frontend', 'web1', '--ip', '10.88.0.7');
    const r = await h.run('network', 'inspect', 'frontend');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Network frontend\n/);
    expect(r.stdout).toMatch(/ipv4\s+10\.88\.0\.0\/24 \(gateway 10\.88\.0\.1\)/);
    expect(r.stdout).toMatch(/web1\s+eth0\s+10\.88\.0\.7\/24/);
    const j = (await h.run('network', 'inspect', 'frontend', '--json')).json();
    expect(j.network.name).toBe('frontend');
    expect(j.endpoints).toEqual([expect.objectContaining({ sandbox: 'web1', ifname: 'eth0', ipv4: '10.88.0.7/24' })]);
  });

  test('rm removes the network and its bridge', async () => {
    await h.run('network', 'create', 'frontend');
    const r = await h.run('network', 'rm', 'frontend', '--json');
    expect(r.code).toBe(0);
    expect(r.json().removed).toEqual([expect.objectContaining({ kind: 'network', name: 'frontend' })]);
    expect(h.fake.linkNames()).toEqual(['lo']);
    expect((await h.run('network', 'ls', '--json')).json().networks).toEqual([]);
  });

  test('rm of a network in use exits 4 (Conflict) and names the sandbox', async () => {
    await h.run('network', 'create', 'frontend');
    await h.run('sandbox', 'create', 'web1');
    await h.run('connect', 'frontend', 'web1');
    const r = await h.run('network', 'rm', 'frontend');
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/^error: Network "frontend" still has 1 connected sandbox\(es\): web1/);
    expect(r.stderr).toContain('code: SWY_ERR_NETWORK_IN_USE');
  });

  test('create --from-file reads an rkt/CNI conf, and a NAME overrides the file name', async () => {
    const file = join(h.netDir, '..', 'web.conf');
    writeFileSync(file, JSON.stringify({ cniVersion: '0.4.0', name: 'web', type: 'ptp', ipam: { type: 'host-local', subnet: '10.66.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } }));
    const r = await h.run('network', 'create', '--from-file', file, '--json');
    expect(r.code).toBe(0);
    expect(r.json().network).toMatchObject({ name: 'web', driver: 'veth', ipv4: { subnet: '10.66.0.0/24' }, options: { defaultRoute: true } });
    const renamed = await h.run('network', 'create', 'web2', '--from-file', file, '--json');
    expect(renamed.code).toBe(4);
    expect(renamed.json().error.code).toBe('SWY_ERR_POOL_OVERLAP');
  });

  test('create --from-file refuses address flags beside it', async () => {
    const r = await h.run('network', 'create', 'x', '--from-file', '/nonexistent.conf', '--subnet', '10.1.0.0/24');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('code: SWY_ERR_USAGE');
  });

  test('rm removes every network it can, even past one that does not exist, and exits with the failure', async () => {
    for (const n of ['a', 'b']) expect((await h.run('network', 'create', n)).code).toBe(0);
    const r = await h.run('network', 'rm', 'a', 'nosuch', 'b');
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('removed network a');
    expect(r.stdout).toContain('removed network b');
    expect(r.stderr).toContain('code: SWY_ERR_NETWORK_NOT_FOUND');
    expect((await h.run('network', 'ls', '--json')).json().networks).toEqual([]);
  });

  test('create refuses a subnet with host bits set (exit 2), naming the network address to write', async () => {
    const r = await h.run('network', 'create', 'x', '--subnet', '10.61.0.5/24');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: Subnet 10.61.0.5/24 has host bits set: it should be 10.61.0.0/24');
    expect(r.stderr).toContain('code: SWY_ERR_INVALID_CIDR');
    expect((await h.run('network', 'ls', '--json')).json().networks).toEqual([]);
  });
});
