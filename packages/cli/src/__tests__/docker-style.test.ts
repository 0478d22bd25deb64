import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harness, type Harness } from './harness.js';

// The rest of issue 11's point 4, each request next to what `docker network …` answers to the same one.

const names = (stdout: string) => stdout.split('\n').filter(Boolean);

describe('network prune and sandbox prune, as docker network prune and docker container prune', () => {
  let h: Harness;
  let asked: string[];
  let answer: boolean;
  let busy: Set<string>;
  beforeEach(async () => {
    asked = [];
    answer = false;
    busy = new Set();
    h = harness({
      confirm: async (q) => {
        asked.push(q);
        return answer;
      },
      namespaceInUse: (path) => busy.has(path),
    });
    await h.run('network', 'create', 'web', '--subnet', '10.88.0.0/24');
    await h.run('network', 'create', 'idle', '--subnet', '10.89.0.0/24', '--label', 'keep=yes');
    await h.run('network', 'create', 'spare', '--subnet', '10.90.0.0/24');
    await h.run('sandbox', 'create', 'app');
    await h.run('connect', 'web', 'app');
  });
  afterEach(() => h.dispose());

  test('-f removes every network no sandbox uses and lists them under "Deleted Networks:", as Docker prints', async () => {
    const r = await h.run('network', 'prune', '-f');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Deleted Networks:\nidle\nspare\n');
    expect(asked).toEqual([]);
    expect(names((await h.run('network', 'ls', '--format', '{{.Name}}')).stdout)).toEqual(['web']);
    // Nothing left to prune: nothing printed, as Docker.
    const again = await h.run('network', 'prune', '--force');
    expect([again.code, again.stdout]).toEqual([0, '']);
  });

  test('without -f it asks first; anything but yes removes nothing and is no failure', async () => {
    const no = await h.run('network', 'prune');
    expect([no.code, no.stdout]).toEqual([0, '']);
    expect(asked[0]).toMatch(/^WARNING! This will remove all networks not used by at least one sandbox\.\nAre you sure you want to continue\? \[y\/N\] $/);
    expect(names((await h.run('network', 'ls', '--format', '{{.Name}}')).stdout)).toEqual(['idle', 'spare', 'web']);
    answer = true;
    expect((await h.run('network', 'prune')).stdout).toBe('Deleted Networks:\nidle\nspare\n');
  });

  test('--filter label, label!= and until choose what goes; a filter prune does not know is a usage error', async () => {
    expect((await h.run('network', 'prune', '-f', '--filter', 'label!=keep')).stdout).toBe('Deleted Networks:\nspare\n');
    expect((await h.run('network', 'prune', '-f', '--filter', 'until=1h')).stdout).toBe('');
    expect((await h.run('network', 'prune', '-f', '--filter', 'until=2000-01-01T00:00:00Z')).stdout).toBe('');
    expect((await h.run('network', 'prune', '-f', '--filter', 'label=keep=yes', '--filter', 'until=0s')).stdout).toBe('Deleted Networks:\nidle\n');
    const bad = await h.run('network', 'prune', '-f', '--filter', 'driver=bridge');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--filter "driver=bridge" is not one prune understands/);
    const badTime = await h.run('network', 'prune', '-f', '--filter', 'until=yesterday');
    expect(badTime.code).toBe(2);
    expect(badTime.stderr).toContain('hint: Write a duration such as 24h');
  });

  test('--json lists what was removed', async () => {
    const r = await h.run('network', 'prune', '-f', '--json');
    expect(r.json().removed.map((x: { kind: string; name: string }) => `${x.kind}:${x.name}`)).toEqual(['network:idle', 'network:spare']);
  });

  test('sandbox prune removes the sandboxes no process is in, with their endpoints, and keeps the busy and host ones', async () => {
    await h.run('sandbox', 'create', 'worker');
    await h.run('connect', 'spare', 'worker');
    await h.run('sandbox', 'create', 'shell', '--host');
    busy.add('/run/netns/app');
    const r = await h.run('sandbox', 'prune', '-f');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Deleted Sandboxes:\nworker\n');
    expect(names((await h.run('sandbox', 'ls', '--format', '{{.Name}}')).stdout)).toEqual(['app', 'shell']);
    // Its endpoint went with it: spare is unused now, and the next network prune takes it.
    expect((await h.run('network', 'prune', '-f')).stdout).toBe('Deleted Networks:\nidle\nspare\n');
  });
});

describe('inspect and rm with several names: every name tried, failures reported at the end', () => {
  let h: Harness;
  beforeEach(async () => {
    h = harness();
    await h.run('network', 'create', 'web', '--subnet', '10.88.0.0/24');
    await h.run('network', 'create', 'db', '--subnet', '10.89.0.0/24');
    await h.run('sandbox', 'create', 's1');
    await h.run('sandbox', 'create', 's2');
  });
  afterEach(() => h.dispose());

  test('network inspect a nosuch b shows a and b, then the error, and fails, as docker network inspect does', async () => {
    const r = await h.run('network', 'inspect', 'web', 'nosuch', 'db');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/^Network web\n[\s\S]*\n\nNetwork db\n/);
    expect(r.stderr).toMatch(/nosuch/);
    expect(r.stderr).toContain('SWY_ERR_NETWORK_NOT_FOUND');
  });

  test('--json: one name gives its object, several an array in the order named', async () => {
    expect((await h.run('network', 'inspect', 'web', '--json')).json().network.name).toBe('web');
    const both = (await h.run('network', 'inspect', 'db', 'web', '--json')).json();
    expect(both.map((x: { network: { name: string } }) => x.network.name)).toEqual(['db', 'web']);
    const sandboxes = (await h.run('sandbox', 'inspect', 's2', 's1', '--json')).json();
    expect(sandboxes.map((x: { sandbox: { name: string } }) => x.sandbox.name)).toEqual(['s2', 's1']);
  });

  test('sandbox inspect with a missing name in the middle still shows the others', async () => {
    const r = await h.run('sandbox', 'inspect', 's1', 'ghost', 's2');
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/Sandbox s1[\s\S]*\n\nSandbox s2/);
    expect(r.stderr).toContain('ghost');
  });

  test('rm a nosuch b removes a and b and reports nosuch, as docker network rm does', async () => {
    const r = await h.run('network', 'rm', 'web', 'nosuch', 'db');
    expect(r.code).not.toBe(0);
    expect(names(r.stdout)).toEqual([expect.stringMatching(/^removed network web/), expect.stringMatching(/^removed network db/)]);
    expect(r.stderr).toContain('nosuch');
    expect(names((await h.run('network', 'ls', '--format', '{{.Name}}')).stdout)).toEqual([]);
  });
});

describe('network create --aux-address, --ipam-driver, --ipam-opt; connect --ip outside --ip-range', () => {
  let h: Harness;
  let dataDir: string;
  beforeEach(() => {
    h = harness({}, {}, { hostLocal: true });
    dataDir = mkdtempSync(join(tmpdir(), 'swy-ipam-opt-'));
  });
  afterEach(() => {
    h.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('an aux address is never given to a sandbox, shows in inspect, and goes with the network', async () => {
    const c = await h.run('network', 'create', 'lan', '--subnet', '10.88.0.0/29', '--aux-address', 'router=10.88.0.2', '--aux-address', 'printer=10.88.0.3', '--ipam-opt', `dataDir=${dataDir}`);
    expect(c.code).toBe(0);
    await h.run('sandbox', 'create', 'a');
    await h.run('connect', 'lan', 'a');
    expect((await h.run('sandbox', 'inspect', 'a', '--json')).json().sandbox.endpoints[0].ipv4).toBe('10.88.0.4/29');
    await h.run('sandbox', 'create', 'b');
    const taken = await h.run('connect', 'lan', 'b', '--ip', '10.88.0.2');
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain('SWY_ERR_ADDRESS_IN_USE');
    const inspect = await h.run('network', 'inspect', 'lan');
    expect(inspect.stdout).toMatch(/\n {2}aux addresses {2}router=10\.88\.0\.2 printer=10\.88\.0\.3\n/);
    expect((await h.run('network', 'inspect', 'lan', '--json')).json().network.ipv4.auxAddresses).toEqual({ router: '10.88.0.2', printer: '10.88.0.3' });
    // --ipam-opt dataDir: host-local keeps the files there (the aux addresses among them).
    expect(
      readdirSync(join(dataDir, 'lan'))
        .filter((f) => f.startsWith('10.'))
        .sort(),
    ).toEqual(['10.88.0.2', '10.88.0.3', '10.88.0.4']);
    await h.run('sandbox', 'rm', 'a', 'b');
    expect((await h.run('network', 'rm', 'lan')).code).toBe(0);
    expect(readdirSync(join(dataDir, 'lan')).filter((f) => f.startsWith('10.'))).toEqual([]);
  });

  test('an aux address without its subnet, outside it, or not an address is refused and nothing is made', async () => {
    const noSubnet = await h.run('network', 'create', 'x', '--aux-address', 'r=10.88.0.2');
    expect(noSubnet.code).toBe(2);
    expect(noSubnet.stderr).toContain('--aux-address r=10.88.0.2 needs --subnet');
    const outside = await h.run('network', 'create', 'x', '--subnet', '10.88.0.0/24', '--aux-address', 'r=10.99.0.2');
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain('SWY_ERR_RANGE_INVALID');
    const v6 = await h.run('network', 'create', 'x', '--subnet', '10.88.0.0/24', '--aux-address', 'r=fd00::2');
    expect(v6.stderr).toContain('needs --subnet6');
    const gateway = await h.run('network', 'create', 'x', '--subnet', '10.88.0.0/24', '--aux-address', 'gw=10.88.0.1', '--ipam-opt', `dataDir=${dataDir}`);
    expect(gateway.code).not.toBe(0);
    expect(gateway.stderr).toContain('SWY_ERR_ADDRESS_IN_USE');
    const bad = await h.run('network', 'create', 'x', '--subnet', '10.88.0.0/24', '--aux-address', 'r');
    expect(bad.stderr).toContain('hint: Write --aux-address key=value, e.g. --aux-address my-router=10.88.0.5.');
    expect(names((await h.run('network', 'ls', '--format', '{{.Name}}')).stdout)).toEqual([]);
    expect(existsSync(join(dataDir, 'x')) ? readdirSync(join(dataDir, 'x')).filter((f) => f.startsWith('10.')) : []).toEqual([]);
  });

  test('--ip outside --ip-range but inside the subnet is accepted, as Docker does; outside the subnet it is not', async () => {
    expect((await h.run('network', 'create', 'r', '--subnet', '10.77.0.0/24', '--ip-range', '10.77.0.128/25')).code).toBe(0);
    await h.run('sandbox', 'create', 'dyn');
    await h.run('sandbox', 'create', 'fixed');
    await h.run('sandbox', 'create', 'far');
    await h.run('connect', 'r', 'dyn');
    expect((await h.run('connect', 'r', 'fixed', '--ip', '10.77.0.10')).code).toBe(0);
    const ip = async (s: string) => (await h.run('sandbox', 'inspect', s, '--json')).json().sandbox.endpoints[0]?.ipv4;
    expect([await ip('dyn'), await ip('fixed')]).toEqual(['10.77.0.128/24', '10.77.0.10/24']);
    const far = await h.run('connect', 'r', 'far', '--ip', '10.78.0.10');
    expect(far.code).not.toBe(0);
    expect(far.stderr).toContain('SWY_ERR_ADDRESS_OUT_OF_RANGE');
    // Released on disconnect, like any other address.
    expect((await h.run('disconnect', 'r', 'fixed')).code).toBe(0);
    expect((await h.run('connect', 'r', 'far', '--ip', '10.77.0.10')).code).toBe(0);
  });

  test('--ipam-driver names the IPAM; an unknown one is an error naming it, as Docker answers plugin not found', async () => {
    const r = await h.run('network', 'create', 'x', '--subnet', '10.88.0.0/24', '--ipam-driver', 'nosuch');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('nosuch');
    expect(r.stderr).toMatch(/SWY_ERR_(PLUGIN|DRIVER)_NOT_FOUND/);
    const ok = await h.run('network', 'create', 'y', '--subnet', '10.88.0.0/24', '--ipam-driver', 'host-local', '--json');
    expect(ok.json().network.ipamDriver).toBe('host-local');
  });
});
