import { harness, type Harness } from './harness.js';

// `network ls` and `sandbox ls` for scripts, with Docker's flags: the lines `docker network ls -q`,
// `--filter` and `--format` print for the same networks.
describe('ls for scripts: -q, --filter, --format', () => {
  let h: Harness;
  beforeEach(async () => {
    h = harness();
    await h.run('network', 'create', 'web', '--subnet', '10.88.0.0/24', '--label', 'env=prod');
    await h.run('network', 'create', 'db', '--driver', 'veth', '--subnet', '10.89.0.0/24', '--label', 'env=dev');
    await h.run('network', 'create', 'webhooks', '--subnet', '10.90.0.0/24');
    await h.run('sandbox', 'create', 'app1');
    await h.run('sandbox', 'create', 'app2');
    await h.run('connect', 'web', 'app1');
  });
  afterEach(() => h.dispose());

  const ids = async (kind: 'network' | 'sandbox') =>
    Object.fromEntries(((await h.run(kind, 'ls', '--json')).json()[kind === 'network' ? 'networks' : 'sandboxes'] as Array<{ name: string; id: string }>).map((r) => [r.name, r.id.slice(0, 12)]));

  test('-q prints the short ids, one per line, as docker network ls -q does', async () => {
    const r = await h.run('network', 'ls', '-q');
    expect(r.code).toBe(0);
    const byName = await ids('network');
    // In name order, as the table lists them.
    expect(r.stdout).toBe(`${byName.db}\n${byName.web}\n${byName.webhooks}\n`);
    expect(
      r.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => /^[0-9a-f]{12}$/.test(l)),
    ).toBe(true);
  });

  test('--filter: name matches a part, label a key or key=value, driver exactly; the same key twice is either, two keys are both', async () => {
    const names = async (...args: string[]) => (await h.run('network', 'ls', '--format', '{{.Name}}', ...args)).stdout.split('\n').filter(Boolean);
    expect(await names('--filter', 'name=web')).toEqual(['web', 'webhooks']);
    expect(await names('--filter', 'label=env')).toEqual(['db', 'web']);
    expect(await names('--filter', 'label=env=dev')).toEqual(['db']);
    expect(await names('--filter', 'driver=veth')).toEqual(['db']);
    expect(await names('--filter', 'driver=veth', '--filter', 'driver=bridge')).toEqual(['db', 'web', 'webhooks']);
    expect(await names('--filter', 'name=web', '--filter', 'label=env=prod')).toEqual(['web']);
    const byName = await ids('network');
    expect(await names('--filter', `id=${byName.db?.slice(0, 6)}`)).toEqual(['db']);
    // Filters alone give the table, narrowed.
    const table = (await h.run('network', 'ls', '--filter', 'driver=veth')).stdout;
    expect(table.split('\n')[0]).toMatch(/^NAME\s+DRIVER/);
    expect(table).toContain('db');
    expect(table).not.toContain('webhooks');
  });

  test('--format takes Go-template-like fields, {{.Label "k"}}, {{json .}} and \\t', async () => {
    const r = await h.run('network', 'ls', '--filter', 'name=web', '--format', '{{.Name}}\\t{{.Driver}}\\t{{.Subnet}}\\t{{.Label "env"}}');
    expect(r.stdout).toBe('web\tbridge\t10.88.0.0/24\tprod\nwebhooks\tbridge\t10.90.0.0/24\t\n');
    const json = (await h.run('network', 'ls', '--filter', 'name=db', '--format', '{{json .}}')).stdout;
    expect(JSON.parse(json)).toMatchObject({ Name: 'db', Driver: 'veth', Subnet: '10.89.0.0/24', Labels: { env: 'dev' } });
  });

  test('sandbox ls takes the same flags, with network and mode filters', async () => {
    expect((await h.run('sandbox', 'ls', '--filter', 'network=web', '--format', '{{.Name}} {{.Networks}} {{.Addresses}}')).stdout).toBe('app1 web 10.88.0.2/24\n');
    const byName = await ids('sandbox');
    expect((await h.run('sandbox', 'ls', '-q', '--filter', 'name=app2')).stdout).toBe(`${byName.app2}\n`);
  });

  test('an unknown filter key or format field is a usage error (exit 2) saying what there is', async () => {
    const bad = await h.run('network', 'ls', '--filter', 'colour=blue');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid filter "colour=blue"');
    expect(bad.stderr).toContain('name, id, driver, label=KEY[=VALUE]'.slice(0, 20));
    const field = await h.run('sandbox', 'ls', '--format', '{{.Colour}}');
    expect(field.code).toBe(2);
    expect(field.stderr).toContain('--format: no field "Colour"');
  });

  test('network connect and network disconnect are connect and disconnect, as docker network connect is', async () => {
    const r = await h.run('network', 'connect', 'db', 'app2', '--ip', '10.89.0.9', '--json');
    expect(r.code).toBe(0);
    expect(r.json().endpoint).toMatchObject({ networkName: 'db', ipv4: '10.89.0.9/24' });
    expect((await h.run('network', 'disconnect', 'db', 'app2')).code).toBe(0);
    expect((await h.run('sandbox', 'ls', '--filter', 'network=db', '-q')).stdout).toBe('');
  });
});
