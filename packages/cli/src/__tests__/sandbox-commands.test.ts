import { harness, tableRows, type Harness } from './harness.js';

describe('switchyard sandbox', () => {
  let h: Harness;
  beforeEach(() => {
    h = harness();
  });
  afterEach(() => h.dispose());

  test('create makes a named namespace at /run/netns/<name>', async () => {
    const r = await h.run('sandbox', 'create', 'web1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^created sandbox web1 \(isolated, netns \/run\/netns\/web1\)/);
    expect(await h.fake.netnsExists({ kind: 'named', name: 'web1' })).toBe(true);
  });

  test('create --json prints the record with hostname and DNS', async () => {
    const r = await h.run('sandbox', 'create', 'web1', '--hostname', 'web1.local', '--dns', '10.88.0.1', '--json');
    expect(r.json().sandbox).toMatchObject({ name: 'web1', mode: 'isolated', hostname: 'web1.local', dns: { nameservers: ['10.88.0.1'] }, netns: { kind: 'named', name: 'web1' } });
  });

  test('create --hostname and connect --alias refuse names that would write lines of their own into the hosts file (exit 2, nothing made)', async () => {
    const evil = 'evil\n6.6.6.6 example.com';
    const r = await h.run('sandbox', 'create', 's', '--hostname', evil);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('code: SWY_ERR_INVALID_NAME');
    expect((await h.run('sandbox', 'create', 's2', '--hostname', 'bad host!')).code).toBe(2);
    expect(await h.fake.netnsExists({ kind: 'named', name: 's' })).toBe(false);
    expect((await h.run('network', 'create', 'web', '--subnet', '10.88.0.0/24')).code).toBe(0);
    expect((await h.run('sandbox', 'create', 'ok')).code).toBe(0);
    const alias = await h.run('connect', 'web', 'ok', '--alias', evil);
    expect(alias.code).toBe(2);
    expect(alias.stderr).toContain('code: SWY_ERR_INVALID_NAME');
    expect(h.ipam.allocated()).toEqual([]);
  });

  test('create --none and --host pick those modes; both at once is a usage error', async () => {
    expect((await h.run('sandbox', 'create', 'lo-only', '--none', '--json')).json().sandbox.mode).toBe('none');
    expect((await h.run('sandbox', 'create', 'hosty', '--host', '--json')).json().sandbox).toMatchObject({ mode: 'host', netns: { kind: 'host' } });
    const both = await h.run('sandbox', 'create', 'x', '--none', '--host');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('error: --none and --host cannot both be given');
  });

  test('create --pid must be a positive integer', async () => {
    const r = await h.run('sandbox', 'create', 'x', '--pid', 'abc');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--pid "abc" is not an integer');
  });

  test('create --netns adopts an existing namespace file and fails with exit 3 when there is none', async () => {
    h.fake.addPathNetns('/proc/4242/ns/net');
    const ok = await h.run('sandbox', 'create', 'adopted', '--netns', '/proc/4242/ns/net', '--json');
    expect(ok.json().sandbox).toMatchObject({ netns: { kind: 'path', path: '/proc/4242/ns/net' }, ownsNetns: false });
    const missing = await h.run('sandbox', 'create', 'ghost', '--netns', '/proc/999999/ns/net');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('code: SWY_ERR_NETNS_NOT_FOUND');
  });

  test('ls shows each sandbox with its interfaces and addresses', async () => {
    await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
    await h.run('sandbox', 'create', 'web1');
    await h.run('sandbox', 'create', 'web2');
    await h.run('connect', 'frontend', 'web1');
    const r = await h.run('sandbox', 'ls');
    const rows = tableRows(r.stdout);
    expect(rows[0]).toEqual(['NAME', 'MODE', 'NETNS', 'INTERFACES', 'STATUS', 'ID']);
    expect(rows[1]?.slice(0, 5)).toEqual(['web1', 'isolated', '/run/netns/web1', 'eth0 10.88.0.2/24 (frontend)', 'ok']);
    expect(rows[2]?.slice(0, 5)).toEqual(['web2', 'isolated', '/run/netns/web2', '-', 'ok']);
    const j = (await h.run('sandbox', 'ls', '--json')).json();
    expect(j.sandboxes.map((s: { name: string }) => s.name)).toEqual(['web1', 'web2']);
  });

  test('inspect shows the interfaces with gateway and default route', async () => {
    await h.run('network', 'create', 'frontend', '--subnet', '10.88.0.0/24');
    await h.run('sandbox', 'create', 'web1');
    await h.run('connect', 'frontend', 'web1');
    const r = await h.run('sandbox', 'inspect', 'web1');
    expect(r.stdout).toMatch(/^Sandbox web1\n/);
    expect(r.stdout).toMatch(/netns\s+\/run\/netns\/web1/);
    expect(r.stdout).toMatch(/frontend\s+eth0\s+10\.88\.0\.2\/24\s+-\s+10\.88\.0\.1\s+yes/);
    expect((await h.run('sandbox', 'inspect', 'web1', '--json')).json().sandbox.endpoints[0]).toMatchObject({ networkName: 'frontend', ipv4: '10.88.0.2/24' });
  });

  test('rm removes the namespace and its interfaces', async () => {
    await h.run('network', 'create', 'frontend');
    await h.run('sandbox', 'create', 'web1');
    const hostLinksBefore = h.fake.linkNames();
    await h.run('connect', 'frontend', 'web1');
    expect(h.fake.linkNames().length).toBe(hostLinksBefore.length + 1);
    const r = await h.run('sandbox', 'rm', 'web1');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^removed sandbox web1 \([0-9a-f]{12}\), with its 1 interface\(s\)/);
    expect(await h.fake.netnsExists({ kind: 'named', name: 'web1' })).toBe(false);
    expect(h.fake.linkNames()).toEqual(hostLinksBefore);
    expect((await h.run('network', 'rm', 'frontend')).code).toBe(0);
  });

  test('a second sandbox with the same name exits 4 (Conflict)', async () => {
    await h.run('sandbox', 'create', 'web1');
    const r = await h.run('sandbox', 'create', 'web1', '--json');
    expect(r.code).toBe(4);
    expect(r.json().error).toMatchObject({ code: 'SWY_ERR_SANDBOX_EXISTS', kind: 'Conflict' });
  });
});
