import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IproutesExecutor } from '@switchyard/core';
import { kernelSnapshot, settledSnapshot, type KernelSnapshot } from '@switchyard/core/testing';
import { CNI_README_MYNET, PODMAN_CONFLIST } from './cni-configs.js';
import { BIN, cliLab, type CliResult } from './cli-lab.js';

// These tests drive the built command as a user would, inside the lab namespace.
const lab = cliLab('swy-cli-itest-');
const cli = (...args: string[]): CliResult => lab.cli(args);
const ok = lab.ok;

function ipOf(sandbox: string): string {
  const s = JSON.parse(ok('sandbox', 'inspect', sandbox, '--json').stdout) as { sandbox: { endpoints: Array<{ ipv4: string }> } };
  return (s.sandbox.endpoints[0]?.ipv4 ?? '').split('/')[0] ?? '';
}

describe('switchyard on the real kernel', () => {
  let initial: KernelSnapshot;
  beforeEach(async () => {
    initial = await kernelSnapshot();
  });

  test('run --net=<bridge network> pings another sandbox, exits 0, and removes everything it made', async () => {
    ok('network', 'create', 'itfront', '--subnet', '10.201.0.0/24');
    ok('sandbox', 'create', 'itweb1');
    ok('sandbox', 'create', 'itweb2');
    ok('connect', 'itfront', 'itweb1');
    ok('connect', 'itfront', 'itweb2');
    const target = ipOf('itweb2');
    expect(target).toBe('10.201.0.3');
    const before = await settledSnapshot(await kernelSnapshot(['itweb1', 'itweb2']), ['itweb1', 'itweb2']);

    const r = cli('run', '--net=itfront', '--name', 'itrun', '--', 'ping', '-n', '-c1', '-W2', target);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 received');
    expect(r.stderr).toContain('switchyard: sandbox itrun removed (command exited with status 0)');
    // The run's sandbox, namespace and endpoints are gone; the networks it used stay.
    expect(JSON.parse(ok('sandbox', 'ls', '--json').stdout).sandboxes.map((s: { name: string }) => s.name)).toEqual(['itweb1', 'itweb2']);
    const afterRun = await settledSnapshot(before, ['itweb1', 'itweb2']);
    expect(afterRun.netns).toEqual(before.netns);
    expect(afterRun.namespaces.itweb1).toEqual(before.namespaces.itweb1);
    // default-restricted was created on first use (rkt's rule); it is a veth network, so it has no host links of its own.
    expect(afterRun.namespaces.host?.links).toEqual(before.namespaces.host?.links);

    ok('sandbox', 'rm', 'itweb1', 'itweb2');
    ok('network', 'rm', 'itfront', 'default-restricted');
    expect(await settledSnapshot(initial)).toEqual(initial);
  });

  test('disconnect and rm leave no link, address or namespace behind', async () => {
    ok('network', 'create', 'itback', '--driver', 'veth', '--subnet', '10.202.0.0/24');
    ok('network', 'create', 'itfront2', '--subnet', '10.203.0.0/24');
    ok('sandbox', 'create', 'itdb');
    ok('connect', 'itback', 'itdb');
    ok('connect', 'itfront2', 'itdb', '--ip', '10.203.0.77');
    const inside = await kernelSnapshot(['itdb']);
    expect(inside.namespaces.itdb?.addrs.map((a) => `${a.dev} ${a.cidr}`)).toEqual(expect.arrayContaining(['eth0 10.202.0.2/24', 'eth1 10.203.0.77/24']));

    ok('disconnect', 'itfront2', 'itdb');
    const afterDisconnect = await kernelSnapshot(['itdb']);
    expect(afterDisconnect.namespaces.itdb?.links.map((l) => l.name).sort()).toEqual(['eth0', 'lo']);

    ok('sandbox', 'rm', 'itdb');
    ok('network', 'rm', 'itback', 'itfront2');
    const end = await settledSnapshot(initial);
    expect(end.netns).toEqual(initial.netns);
    expect(end).toEqual(initial);
    // `ip netns list` prints newest first, with "(id: N)" after some names: compare the names as a set.
    const listed = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(' ')[0])
      .filter(Boolean);
    expect(listed.sort()).toEqual([...initial.netns].sort());
  });

  test('run passes the exit status through, and --net=none gives loopback only', async () => {
    const none = cli('run', '--net=none', '--', 'ip', '-br', 'link');
    expect(none.code).toBe(0);
    expect(
      none.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['lo']);
    expect(cli('run', '--net=none', '--', 'sh', '-c', 'exit 7').code).toBe(7);
    expect(await settledSnapshot(initial)).toEqual(initial);
  });

  test('run joins networks declared in net.d, with a fixed IP per network', async () => {
    lab.env.SWITCHYARD_NET_DIR = join(lab.root, 'net.d');
    rmSync(lab.env.SWITCHYARD_NET_DIR, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', lab.env.SWITCHYARD_NET_DIR]);
    writeFileSync(join(lab.env.SWITCHYARD_NET_DIR, '10-lab.conf'), JSON.stringify({ name: 'itlab', type: 'ptp', ipam: { type: 'host-local', subnet: '10.204.0.0/24', routes: [{ dst: '0.0.0.0/0' }] } }));
    const r = cli('run', '--net=itlab:IP=10.204.0.44', '--', 'ip', '-4', '-br', 'addr', 'show', 'dev', 'eth0');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('10.204.0.44/24');
    expect(r.stderr).toContain('network itlab created on first use');
    ok('network', 'rm', 'itlab', 'default-restricted');
    expect(await settledSnapshot(initial)).toEqual(initial);
  });

  test('CNI README 10-mynet.conf (beside its 99-loopback.conf) and the conflist Podman writes work through run --net; a published port answers', async () => {
    const dir = lab.env.SWITCHYARD_NET_DIR as string;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '10-mynet.conf'), JSON.stringify(CNI_README_MYNET));
    writeFileSync(join(dir, '99-loopback.conf'), JSON.stringify({ cniVersion: '0.2.0', name: 'lo', type: 'loopback' }));
    writeFileSync(join(dir, '87-podman-bridge.conflist'), JSON.stringify(PODMAN_CONFLIST));
    const mynet = cli('run', '--net=mynet', '--', 'sh', '-c', 'ip -4 route show default; ping -n -c1 -W2 10.22.0.1');
    expect(mynet.code).toBe(0);
    expect(mynet.stdout).toContain('default via 10.22.0.1 dev eth0');
    expect(mynet.stdout).toContain('1 received');

    const server = `require('http').createServer((q, r) => { r.end('podman-ok'); setTimeout(() => process.exit(0), 50); }).listen(80)`;
    const child = spawn(process.execPath, [BIN, 'run', '--net=podman', '--port=18210:80', '--', process.execPath, '-e', server], { env: lab.env });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    let body = '';
    for (let i = 0; i < 100 && body === ''; i++) {
      body = await fetch('http://127.0.0.1:18210/').then(
        (r) => r.text(),
        () => new Promise<string>((resolve) => setTimeout(() => resolve(''), 100)),
      );
    }
    expect(body).toBe('podman-ok');
    expect(await exited).toBe(0);
    ok('network', 'rm', 'mynet', 'podman');
    expect(await settledSnapshot(initial)).toEqual(initial);
  });

  test('a net.d conflist Switchyard does not run natively (bridge + tuning with a sysctl) runs through driver-cni with the reference plugins', async () => {
    const dir = lab.env.SWITCHYARD_NET_DIR as string;
    mkdirSync(dir, { recursive: true });
    const tuned = {
      cniVersion: '1.0.0',
      name: 'tuned',
      plugins: [
        { type: 'bridge', bridge: 'tuned0', isGateway: true, ipam: { type: 'host-local', subnet: '10.209.0.0/24', dataDir: join(lab.root, 'cni-ipam') } },
        { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.accept_redirects': '0' } },
      ],
    };
    writeFileSync(join(dir, '60-tuned.conflist'), JSON.stringify(tuned));
    const declared = JSON.parse(ok('network', 'ls', '--json').stdout) as { declared: Array<{ name: string; driver?: string }> };
    expect(declared.declared).toEqual([expect.objectContaining({ name: 'tuned', driver: 'cni' })]);
    const r = cli('run', '--net=tuned', '--', 'sh', '-c', 'sysctl -n net.ipv4.conf.eth0.accept_redirects; ip -4 -br addr show dev eth0; ping -n -c1 -W2 10.209.0.1');
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('0');
    expect(r.stdout).toContain('10.209.0.2/24');
    expect(r.stdout).toContain('1 received');
    // The run's DEL went through the chain: host-local's file is gone.
    expect(
      spawnSync('ls', [join(lab.root, 'cni-ipam', 'tuned')], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((f) => f.startsWith('10.')),
    ).toEqual([]);
    ok('network', 'rm', 'tuned');
    expect(await settledSnapshot(initial)).toEqual(initial);
  });

  test('SIGINT while the command runs reaches it; the run exits 130 and removes its sandbox', async () => {
    ok('network', 'create', 'itsig', '--subnet', '10.205.0.0/24');
    const child = spawn(process.execPath, [BIN, 'run', '--net=itsig,default', '--name', 'itsleep', '--', 'sleep', '60'], { env: lab.env });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('switchyard: running sleep 60')) resolve();
      });
      child.once('exit', (c) => reject(new Error(`run exited ${c} before starting its command:\n${stderr}`)));
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    expect(stderr).toContain('switchyard: sandbox itsleep removed');
    expect(JSON.parse(ok('sandbox', 'ls', '--json').stdout).sandboxes).toEqual([]);
    ok('network', 'rm', 'itsig', 'default');
    expect(await settledSnapshot(initial)).toEqual(initial);
  });

  test('errors exit with the documented codes', async () => {
    ok('network', 'create', 'iterr', '--subnet', '10.206.0.0/24');
    ok('sandbox', 'create', 'iterrsb');
    expect(cli('network', 'inspect', 'nosuch').code).toBe(3);
    expect(cli('sandbox', 'create', 'iterrsb').code).toBe(4);
    const badIp = cli('connect', 'iterr', 'iterrsb', '--ip', '10.206.0.999');
    expect(badIp.code).toBe(2);
    expect(badIp.stderr).toContain('code: SWY_ERR_INVALID_CIDR');
    expect(cli('network', 'ls', '--bogus').code).toBe(2);
    // A host without a firewall backend refuses published ports up front (Unavailable; `run` exits 125 for any failure of its own, as docker run).
    const saved = lab.env;
    lab.env = { ...lab.env, SWITCHYARD_FIREWALL: 'none' };
    const port = cli('run', '--net=iterr', '--port=8080:80', '--', 'true');
    lab.env = saved;
    expect(port.code).toBe(125);
    expect(port.stderr).toContain('code: SWY_ERR_FIREWALL_UNAVAILABLE');
    // With nftables: a port another sandbox holds is a conflict (exit 4) that names the holder.
    ok('connect', 'iterr', 'iterrsb', '-p', '8080:80');
    expect(ok('port', 'ls').stdout).toMatch(/iterrsb\s+iterr\s+80\/tcp\s+0\.0\.0\.0:8080\s+anywhere/);
    ok('sandbox', 'create', 'iterrsb2');
    const taken = cli('connect', 'iterr', 'iterrsb2', '-p', '8080:80');
    expect(taken.code).toBe(4);
    expect(taken.stderr).toContain('code: SWY_ERR_PORT_CONFLICT');
    expect(taken.stderr).toContain('sandbox "iterrsb"');
    const shown = ok('firewall', 'show').stdout;
    expect(shown).toContain('status: in step with the store');
    expect(shown).toContain('comment "endpoint iterrsb.iterr"');
    ok('sandbox', 'rm', 'iterrsb', 'iterrsb2');
    ok('network', 'rm', 'iterr');
    expect(await settledSnapshot(initial)).toEqual(initial);
  });

  test('doctor finds bridge, veth and macvlan, explains the missing ipvlan, and leaves the namespace as it was', async () => {
    const r = cli('doctor', '--json');
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout).doctor as { kernel: Array<{ feature: string; supported: boolean; note?: string }> };
    const f = Object.fromEntries(d.kernel.map((k) => [k.feature, k]));
    expect([f.bridge?.supported, f.veth?.supported, f.macvlan?.supported]).toEqual([true, true, true]);
    // Whatever this kernel can do, doctor must say the same; when it lacks ipvlan it must say why.
    const hasIpvlan = await new IproutesExecutor().probe('ipvlan');
    const explained = (f.ipvlan?.note ?? '').includes('kernel built without ipvlan support (no module loading)');
    expect({ supported: f.ipvlan?.supported, explained }).toEqual({ supported: hasIpvlan, explained: !hasIpvlan });
    expect(await settledSnapshot(initial)).toEqual(initial);
  });
});

describe('switchyard demo on the real kernel', () => {
  test('demo exits 0, shows the pings, a name lookup, a published port and masqueraded egress, and leaves nothing in the caller’s namespace', async () => {
    const initial = await kernelSnapshot();
    const r = cli('demo');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ {2}web1 → web2 \(10\.88\.0\.3\)\s+3\/3 replies: \d+\.\d{3} ms/);
    expect(r.stdout).toMatch(/✓ {2}db → web1 \(10\.88\.0\.2\)\s+no reply, as expected/);
    // The outside world: a client beyond the host reaches web1's published port with its own address; web2 goes out masqueraded.
    expect(r.stdout).toMatch(/✓ {2}outside \(198\.51\.100\.2\) → host 198\.51\.100\.1:8080\s+web1 answered and saw the client as 198\.51\.100\.2/);
    expect(r.stdout).toMatch(/✓ {2}web2 → outside \(198\.51\.100\.2:80\)\s+the outside saw 198\.51\.100\.1, the host's address: masqueraded/);
    // Names: web1 finds web2 through frontend's DNS responder.
    expect(r.stdout).toMatch(/✓ {2}web1 looks up "web2"\s+10\.88\.0\.3, from frontend's DNS responder on 10\.88\.0\.1/);
    expect(r.stdout).toMatch(/✓ all 17 checks passed \(connect took \d+\.\d ms median\)/);
    // The demo ran in its own namespace: the lab namespace it was started from is unchanged.
    expect(await kernelSnapshot()).toEqual(initial);
  });
});

describe('plugins and the working directory', () => {
  test('a driver package in the directory the command runs from (or its parent) is never loaded; one in <stateDir>/plugins is', () => {
    // What someone could plant in a world-writable place a lab.root shell happens to be in.
    const plant = (base: string, type: string) => {
      const dir = join(base, 'node_modules', `switchyard-driver-${type}`);
      mkdirSync(dir, { recursive: true });
      const marker = join(base, `${type}-ran`);
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: `switchyard-driver-${type}`, version: '1.0.0', type: 'module', main: './index.js', switchyard: { kind: 'driver', type, apiVersion: 1 }, peerDependencies: { '@switchyard/core': '^0.1.0' } }),
      );
      writeFileSync(join(dir, 'index.js'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\nexport default {};\n`);
      return marker;
    };
    const cwd = join(lab.root, 'work', 'here');
    mkdirSync(cwd, { recursive: true });
    const inCwd = plant(cwd, 'evil');
    const inParent = plant(join(lab.root, 'work'), 'evilp');
    for (const type of ['evil', 'evilp']) {
      const r = spawnSync(process.execPath, [BIN, 'network', 'create', `n-${type}`, '--driver', type], { env: lab.env, cwd, encoding: 'utf8' });
      expect({ type, code: r.status, notFound: r.stderr.includes('code: SWY_ERR_DRIVER_NOT_FOUND') }).toEqual({ type, code: 3, notFound: true });
    }
    expect([existsSync(inCwd), existsSync(inParent)]).toEqual([false, false]);
    // The plugin directory is where the CLI looks: the same package there is loaded (and, being no driver, refused for its shape).
    const inPlugins = plant(join(lab.root, 'state', 'plugins'), 'evil');
    const r = spawnSync(process.execPath, [BIN, 'network', 'create', 'n-evil', '--driver', 'evil'], { env: lab.env, cwd, encoding: 'utf8' });
    expect(r.stderr).toContain('code: SWY_ERR_PLUGIN_BAD_SHAPE');
    expect(existsSync(inPlugins)).toBe(true);
  });
});

describe('startup', () => {
  test('--version loads the bin only (no commander, command table, core, execa or tsyringe); its time is reported', () => {
    const hook = join(lab.root, 'hook.mjs');
    writeFileSync(hook, "import { writeSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); writeSync(2, 'LOADED ' + r.url + '\\n'); return r; }\n");
    const register = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify('file://' + hook)});`;
    const r = spawnSync(process.execPath, ['--import', register, BIN, '--version'], { env: lab.env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const loaded = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('LOADED file:'))
      .map((l) => l.slice('LOADED '.length));
    // The hook does see the bin (so the check below can fail), and nothing after it.
    expect(loaded.filter((u) => u.endsWith('/bin/switchyard.js'))).toHaveLength(1);
    expect(loaded.filter((u) => /\/commander\/|packages\/cli\/dist\/|packages\/(core|driver-|ipam-)|\/execa\/|\/tsyringe\//.test(u))).toEqual([]);

    const times = Array.from({ length: 10 }, () => {
      const t0 = process.hrtime.bigint();
      spawnSync(process.execPath, [BIN, '--version'], { env: lab.env });
      return Number(process.hrtime.bigint() - t0) / 1e6;
    }).sort((a, b) => a - b);
    process.stderr.write(`switchyard --version: median ${((times[4]! + times[5]!) / 2).toFixed(1)} ms over 10 runs\n`);
  });
});
