import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostLocalPlugin, parseResolvConf } from '../host-local.js';
import { resultProblems } from '../protocol/result.js';
import { runPlugin } from '../protocol/run.js';
import { SUPPORTED_VERSIONS, type CniVersion } from '../protocol/versions.js';

/**
 * switchyard-host-local through the protocol, as the main plugin of a chain execs it (the same
 * environment and the whole network config on stdin), on a data directory shared with CNI's own
 * host-local binary from Debian's containernetworking-plugins.
 */
const REFERENCE = '/usr/lib/cni/host-local';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'swy-hl-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const conf = (version: CniVersion = '1.1.0', ipam: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  cniVersion: version,
  name: 'hlnet',
  type: 'bridge',
  ipam: { type: 'switchyard-host-local', dataDir: join(dir, 'data'), ranges: [[{ subnet: '10.30.0.0/24' }], [{ subnet: 'fd30::/64' }]], ...ipam },
  ...extra,
});

interface Run {
  stdout: string;
  exitCode: number;
  json: Record<string, unknown> | undefined;
}

async function run(command: string, id: string, config: object, more: Record<string, string> = {}): Promise<Run> {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...more };
  const out = await runPlugin(hostLocalPlugin(), { env, stdin: JSON.stringify(config) });
  return { ...out, json: out.stdout === '' ? undefined : (JSON.parse(out.stdout) as Record<string, unknown>) };
}

/** CNI's own host-local, exec'd the same way (Debian's speaks up to 1.0.0). */
function reference(command: string, id: string, config: object): Run {
  const env = { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
  const r = spawnSync(REFERENCE, [], { env, input: JSON.stringify({ ...config, cniVersion: '1.0.0', ipam: { ...(config as { ipam: object }).ipam, type: 'host-local' } }), encoding: 'utf8' });
  return { stdout: r.stdout, exitCode: r.status ?? -1, json: r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>) };
}

/** The same, without waiting: for runs at once. */
function referenceAsync(command: string, id: string, config: object): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
    const child = spawn(REFERENCE, [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, exitCode: code ?? -1, json: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>) }));
    child.stdin.end(JSON.stringify({ ...config, cniVersion: '1.0.0', ipam: { ...(config as { ipam: object }).ipam, type: 'host-local' } }));
  });
}

/** The address files in the network's directory, as either binary sees them. */
const files = (network = 'hlnet') => {
  const d = join(dir, 'data', network);
  return existsSync(d)
    ? readdirSync(d)
        .filter((f) => /^[0-9a-f.:]+$/.test(f) && /[.:]/.test(f))
        .sort()
    : [];
};

const addresses = (r: Run) => ((r.json?.ips ?? []) as Array<{ address: string }>).map((ip) => ip.address);

describe('switchyard-host-local', () => {
  it.each([...SUPPORTED_VERSIONS])('ADD in %s gives one address per range set with its gateway, a valid IPAM result (no interfaces)', async (version) => {
    const add = await run('ADD', 'c1', conf(version));
    expect(add.exitCode).toBe(0);
    expect(resultProblems(add.json, version)).toEqual([]);
    expect(add.json?.interfaces).toBeUndefined();
    expect(addresses(add)).toEqual(['10.30.0.2/24', 'fd30::2/64']);
    expect(add.json?.ips).toMatchObject([{ gateway: '10.30.0.1' }, { gateway: 'fd30::1' }]);
    // The reference format: <id>\r\n<ifname>.
    expect(readFileSync(join(dir, 'data', 'hlnet', '10.30.0.2'), 'utf8')).toBe('c1\r\neth0');
  });

  it('returns routes and the DNS of ipam.resolvConf, as the reference plugin does', async () => {
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(resolv, '# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch example.org corp\noptions ndots:2 edns0\ndomain example.org\n');
    const add = await run('ADD', 'c1', conf('1.0.0', { routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.30.0.254' }], resolvConf: resolv }));
    expect(add.json).toMatchObject({
      routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.30.0.254' }],
      dns: { nameservers: ['192.0.2.53', '2001:db8::53'], search: ['example.org', 'corp'], options: ['ndots:2', 'edns0'], domain: 'example.org' },
    });
    expect(parseResolvConf('')).toEqual({});
  });

  it('gives a static address asked for through CNI_ARGS, args.cni.ips or runtimeConfig.ips', async () => {
    // IPv6 goes round-robin from the last address reserved, a static one included, as CNI's host-local does.
    expect(addresses(await run('ADD', 'a', conf(), { CNI_ARGS: 'IP=10.30.0.77' }))).toEqual(['10.30.0.77/24', 'fd30::2/64']);
    expect(addresses(await run('ADD', 'b', conf('1.1.0', {}, { args: { cni: { ips: ['10.30.0.78/24', 'fd30::78'] } } })))).toEqual(['10.30.0.78/24', 'fd30::78/64']);
    expect(addresses(await run('ADD', 'c', conf('1.1.0', {}, { runtimeConfig: { ips: ['10.30.0.79'] } })))).toEqual(['10.30.0.79/24', 'fd30::79/64']);
    const taken = await run('ADD', 'd', conf(), { CNI_ARGS: 'IP=10.30.0.77' });
    expect(taken.exitCode).toBe(1);
    expect(taken.json?.msg).toMatch(/10\.30\.0\.77/);
    const outside = await run('ADD', 'e', conf(), { CNI_ARGS: 'IP=10.99.0.1' });
    expect(outside.json).toMatchObject({ code: 7 });
    expect(files()).toEqual(['10.30.0.77', '10.30.0.78', '10.30.0.79', 'fd30::2', 'fd30::78', 'fd30::79']);
  });

  it('takes runtimeConfig.ipRanges (the ipRanges capability) in place of the configured ranges', async () => {
    const add = await run('ADD', 'c1', conf('1.1.0', {}, { runtimeConfig: { ipRanges: [[{ subnet: '10.31.0.0/24', rangeStart: '10.31.0.100' }]] } }));
    expect(addresses(add)).toEqual(['10.31.0.100/24']);
  });

  it('the same attachment asking twice gets the same addresses; DEL releases them and is idempotent', async () => {
    const first = await run('ADD', 'c1', conf());
    expect(addresses(await run('ADD', 'c1', conf()))).toEqual(addresses(first));
    expect(files()).toHaveLength(2);
    expect(await run('DEL', 'c1', conf())).toMatchObject({ exitCode: 0, stdout: '' });
    expect(files()).toEqual([]);
    expect(await run('DEL', 'c1', conf())).toMatchObject({ exitCode: 0, stdout: '' });
    expect(await run('DEL', 'never-added', conf())).toMatchObject({ exitCode: 0, stdout: '' });
  });

  it('CHECK passes for an allocated attachment and fails for one that holds nothing or not the prevResult addresses', async () => {
    const add = await run('ADD', 'c1', conf());
    expect(await run('CHECK', 'c1', conf('1.1.0', {}, { prevResult: add.json }))).toMatchObject({ exitCode: 0, stdout: '' });
    const other = await run('ADD', 'c2', conf());
    const wrong = await run('CHECK', 'c1', conf('1.1.0', {}, { prevResult: other.json }));
    expect(wrong.json).toMatchObject({ code: 7, msg: expect.stringContaining('not allocated to this attachment') });
    expect((await run('CHECK', 'c3', conf('1.1.0', {}, { prevResult: add.json }))).json).toMatchObject({ code: 3 });
  });

  it('GC releases every address not held by a valid attachment, including those the reference binary wrote, and keeps the rest', async () => {
    await run('ADD', 'keep', conf());
    await run('ADD', 'gone', conf());
    expect(reference('ADD', 'ref-gone', conf()).exitCode).toBe(0);
    expect(reference('ADD', 'ref-keep', conf()).exitCode).toBe(0);
    expect(files()).toHaveLength(8);
    const gc = await run(
      'GC',
      'x',
      conf(
        '1.1.0',
        {},
        {
          'cni.dev/valid-attachments': [
            { containerID: 'keep', ifname: 'eth0' },
            { containerID: 'ref-keep', ifname: 'eth0' },
          ],
        },
      ),
    );
    expect(gc).toMatchObject({ exitCode: 0, stdout: '' });
    const owners = files().map((f) => readFileSync(join(dir, 'data', 'hlnet', f), 'utf8').split('\r\n')[0]);
    expect(owners.sort()).toEqual(['keep', 'keep', 'ref-keep', 'ref-keep']);
    // A GC without the list keeps everything: it is an error, not "keep nothing".
    expect((await run('GC', 'x', conf())).json).toMatchObject({ code: 7 });
    expect(files()).toHaveLength(4);
  });

  it('shares a data directory with the reference host-local: neither hands out an address the other holds, each releases the other s on DEL', async () => {
    const ours: string[] = [];
    const theirs: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      ours.push(...addresses(await run('ADD', `s${i}`, conf())));
      const r = reference('ADD', `r${i}`, conf());
      expect(r.exitCode).toBe(0);
      theirs.push(...addresses(r));
    }
    expect(new Set([...ours, ...theirs]).size).toBe(24);
    expect(files()).toHaveLength(24);
    // An attachment the reference added, deleted by ours, and the other way round.
    expect((await run('DEL', 'r0', conf())).exitCode).toBe(0);
    expect(reference('DEL', 's0', conf()).exitCode).toBe(0);
    expect(files()).toHaveLength(20);
    expect(files()).not.toContain(theirs[0]?.split('/')[0]);
    expect(files()).not.toContain(ours[0]?.split('/')[0]);
  });

  it('runs at the same time as the reference host-local on one directory: every address handed out once', async () => {
    const runs = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? run('ADD', `s${i}`, conf()) : referenceAsync('ADD', `r${i}`, conf()))));
    expect(runs.map((r) => r.exitCode)).toEqual(Array(12).fill(0));
    const all = runs.flatMap(addresses);
    expect(new Set(all).size).toBe(24);
    expect(files()).toHaveLength(24);
  });

  it('STATUS is ready while every range set has an address left, code 50 when one is full or the directory cannot be written', async () => {
    const small = { ranges: [[{ subnet: '10.32.0.0/29', rangeStart: '10.32.0.2', rangeEnd: '10.32.0.3' }]] };
    expect(await run('STATUS', 'x', conf('1.1.0', small))).toMatchObject({ exitCode: 0, stdout: '' });
    await run('ADD', 'a', conf('1.1.0', small));
    expect(await run('STATUS', 'x', conf('1.1.0', small))).toMatchObject({ exitCode: 0 });
    await run('ADD', 'b', conf('1.1.0', small));
    expect((await run('STATUS', 'x', conf('1.1.0', small))).json).toMatchObject({ code: 50, msg: expect.stringContaining('no address left') });
    writeFileSync(join(dir, 'file'), '');
    expect((await run('STATUS', 'x', conf('1.1.0', { dataDir: join(dir, 'file', 'sub') }))).json).toMatchObject({ code: 50 });
  });

  it('rejects a bad config with code 7 and touches no file', async () => {
    for (const ipam of [{ ranges: 'x' }, { ranges: [[{ subnet: 'nope' }]] }, { routes: [{ dst: 'x' }] }, { routes: {} }]) {
      expect((await run('ADD', 'c1', conf('1.1.0', ipam))).json).toMatchObject({ code: 7 });
    }
    expect((await run('ADD', 'c1', conf('1.1.0', {}, { runtimeConfig: { ipRanges: 'x' } }))).json).toMatchObject({ code: 7 });
    expect((await run('ADD', 'c1', { cniVersion: '1.0.0', name: 'hlnet', type: 'bridge' })).json).toMatchObject({ code: 7 });
    expect((await run('ADD', 'c1', conf('1.1.0', { resolvConf: join(dir, 'missing') }))).json).toMatchObject({ code: 5 });
    expect((await run('ADD', 'c1', conf('1.1.0', { dataDir: 'relative/dir' }))).json).toMatchObject({ code: 7, msg: 'ipam.dataDir must be an absolute directory path.' });
    expect(files()).toEqual([]);
  });
});
