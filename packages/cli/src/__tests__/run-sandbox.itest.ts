import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { kernelSnapshot, settledSnapshot, type KernelSnapshot } from '@switchyard/core/testing';
import { BIN, cliLab, type CliResult } from './cli-lab.js';

// `run` on the real kernel, inside the lab namespace: the command's view of its sandbox (hosts,
// resolv.conf, hostname in a private mount and UTS namespace), the exit codes, and `run --sandbox`.
const lab = cliLab('swy-run-sandbox-itest-');
const cli = (...args: string[]): CliResult => lab.cli(args);
const ok = lab.ok;
type Result = CliResult;

/** Starts `switchyard …` in the background; resolves its exit status and output when it ends. */
function background(...args: string[]): { child: ChildProcessWithoutNullStreams; out: () => Result; ended: Promise<Result> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: lab.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  const ended = new Promise<Result>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, out: () => ({ code: null, stdout, stderr }), ended };
}

/** Resolves once `text` appears in the background command's stdout (rejects if it ends first). */
function waitForOutput(b: ReturnType<typeof background>, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (b.out().stdout.includes(text)) resolve();
    };
    b.child.stdout.on('data', check);
    check();
    void b.ended.then((r) => reject(new Error(`the command ended (${r.code}) before printing ${JSON.stringify(text)}:\n${r.stdout}${r.stderr}`)));
  });
}

/** What the command printed about its view of the sandbox, section by section. */
const VIEW = 'cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; hostname; uname -n';
function sections(stdout: string): { hosts: string; resolv: string; names: string[] } {
  const [hosts = '', resolv = '', names = ''] = stdout.split('---\n');
  return { hosts, resolv, names: names.trim().split('\n') };
}

/** The host side, which no run may change: its files, its hostname, and the mounts of this (the lab) mount namespace. */
function hostView(): { hosts: string; resolv: string; hostname: string; mounts: string } {
  return {
    hosts: readFileSync('/etc/hosts', 'utf8'),
    resolv: readFileSync('/etc/resolv.conf', 'utf8'),
    hostname: hostname(),
    // Sandboxes themselves add their namespace files under /run/netns (ip netns makes it shared): those are theirs, not the run's.
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => !/^\S+ \S+ \S+ \S+ \/run\/netns(\/|\s)/.test(l))
      .join('\n'),
  };
}

function hostNameservers(): string[] {
  return readFileSync('/etc/resolv.conf', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0] === 'nameserver' && w[1] && !w[1].startsWith('127.') && w[1] !== '::1')
    .map((w) => w[1] as string);
}

describe('run gives the command its sandbox: hosts, resolv.conf and hostname, in a private mount and UTS namespace', () => {
  let initial: KernelSnapshot;
  beforeEach(async () => {
    initial = await kernelSnapshot();
  });

  test('an ephemeral run sees its own name and address in /etc/hosts, the host nameservers and its hostname; the host keeps its own', async () => {
    const host = hostView();
    ok('network', 'create', 'itview', '--subnet', '10.211.0.0/24');
    const r = cli('run', '--net=itview:IP=10.211.0.40', '--name', 'itviewer', '--', 'sh', '-c', VIEW);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const seen = sections(r.stdout);
    expect(seen.hosts).toContain('127.0.0.1\tlocalhost\n');
    expect(seen.hosts).toContain('10.211.0.40\titviewer\n');
    expect(seen.hosts).not.toBe(host.hosts);
    // The network's DNS responder (its gateway) is the name server of a sandbox on it.
    expect(seen.resolv).toBe('nameserver 10.211.0.1\n');
    expect(seen.names).toEqual(['itviewer', 'itviewer']);
    // On a network without DNS, the host's name servers (loopback ones left out), as Docker's default bridge.
    ok('network', 'create', 'itnodns', '--subnet', '10.211.1.0/24', '--disable-dns');
    const plain = cli('run', '--net=itnodns', '--', 'sh', '-c', VIEW);
    expect(plain.code).toBe(0);
    expect(sections(plain.stdout).resolv).toBe(
      hostNameservers()
        .map((n) => `nameserver ${n}\n`)
        .join(''),
    );
    // Nothing of the run is left on the host side: files, hostname, mounts.
    expect(hostView()).toEqual(host);
    ok('network', 'rm', 'itview', 'itnodns', 'default-restricted');
    expect(await settledSnapshot(initial)).toEqual(initial);
  });

  test('run --sandbox sees the sandbox hostname, its aliases and its nameserver; the sandbox keeps its endpoint', async () => {
    const host = hostView();
    ok('network', 'create', 'itpod', '--subnet', '10.212.0.0/24');
    ok('sandbox', 'create', 'itpod1', '--hostname', 'itpod1.lab.example', '--dns', '10.212.0.53');
    ok('connect', 'itpod', 'itpod1', '--ip', '10.212.0.7', '--alias', 'api', '--alias', 'db');
    const before = JSON.parse(ok('sandbox', 'inspect', 'itpod1', '--json').stdout) as unknown;
    const r = cli('run', '--sandbox', 'itpod1', '--', 'sh', '-c', VIEW);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const seen = sections(r.stdout);
    expect(seen.hosts).toContain('10.212.0.7\titpod1.lab.example api db\n');
    expect(seen.resolv).toBe('nameserver 10.212.0.53\n');
    expect(seen.names).toEqual(['itpod1.lab.example', 'itpod1.lab.example']);
    expect(hostView()).toEqual(host);
    expect(JSON.parse(ok('sandbox', 'inspect', 'itpod1', '--json').stdout)).toEqual(before);
    const inside = await kernelSnapshot(['itpod1']);
    expect(inside.namespaces.itpod1?.addrs.map((a) => `${a.dev} ${a.cidr}`)).toContain('eth0 10.212.0.7/24');
  });

  test('--net=host and a host-mode sandbox keep the host files and hostname', () => {
    const host = hostView();
    const r = cli('run', '--net=host', '--', 'sh', '-c', VIEW);
    expect(r.code).toBe(0);
    expect(sections(r.stdout)).toEqual({ hosts: host.hosts, resolv: host.resolv, names: [host.hostname, host.hostname] });
    ok('sandbox', 'create', 'ithostsb', '--host');
    const s = cli('run', '--sandbox', 'ithostsb', '--', 'sh', '-c', VIEW);
    expect(s.code).toBe(0);
    expect(sections(s.stdout)).toEqual({ hosts: host.hosts, resolv: host.resolv, names: [host.hostname, host.hostname] });
    expect(hostView()).toEqual(host);
  });

  test('a --none sandbox runs with loopback only and its own files', () => {
    ok('sandbox', 'create', 'itlonely', '--none');
    const r = cli('run', '--sandbox', 'itlonely', '--', 'sh', '-c', `ip -br link; echo ---; ${VIEW}`);
    expect(r.code).toBe(0);
    const [links = '', ...rest] = r.stdout.split('---\n');
    expect(
      links
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['lo']);
    expect(sections(rest.join('---\n')).names).toEqual(['itlonely', 'itlonely']);
  });

  test('a symlinked /etc/resolv.conf gets the sandbox file over its target; a link to nowhere is left as it is, with a warning', () => {
    ok('sandbox', 'create', 'itsym', '--dns', '10.215.0.53');
    const etc = join(lab.root, 'etc');
    const target = join(lab.root, 'resolved', 'stub-resolv.conf');
    mkdirSync(etc);
    // A throwaway mount namespace whose /etc is a copy where resolv.conf is a symlink, as systemd-resolved makes it.
    const script = [
      'set -e',
      'cp -a /etc/. "$1"',
      'mount --bind "$1" /etc',
      'mkdir -p "$(dirname "$2")"',
      'echo "nameserver 192.0.2.9" > "$2"',
      'rm /etc/resolv.conf',
      'ln -s "$2" /etc/resolv.conf',
      'echo "== linked"',
      '"$3" "$4" run --sandbox itsym -- cat /etc/resolv.conf',
      'echo "== host"',
      'cat /etc/resolv.conf',
      'rm "$2"',
      'echo "== dangling"',
      '"$3" "$4" run --sandbox itsym -- sh -c "cat /etc/resolv.conf 2>/dev/null || echo none; hostname"',
    ].join('\n');
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', etc, target, process.execPath, BIN], { env: lab.env, encoding: 'utf8' });
    expect(r.stdout).toBe('== linked\nnameserver 10.215.0.53\n== host\nnameserver 192.0.2.9\n== dangling\nnone\nitsym\n');
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("warning: /etc/resolv.conf is a symbolic link to nowhere, so the sandbox's resolv.conf cannot be mounted over it: the command sees the host's\n");
  });

  test('a state dir whose path holds quotes and $(...) is passed to mount as data, never run as shell code', () => {
    const hostile = join(lab.root, `st'a"te $(touch ${lab.root}/pwned) \`touch ${lab.root}/pwned2\``);
    mkdirSync(hostile, { recursive: true, mode: 0o700 });
    lab.env = { ...lab.env, SWITCHYARD_STATE_DIR: hostile };
    const r = cli('run', '--net=none', '--name', 'itquoted', '--', 'sh', '-c', VIEW);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(sections(r.stdout).names).toEqual(['itquoted', 'itquoted']);
    expect([existsSync(join(lab.root, 'pwned')), existsSync(join(lab.root, 'pwned2'))]).toEqual([false, false]);
  });
});

describe('run exit codes, as docker run and podman run', () => {
  test('125 when run itself fails, 126 when the command cannot be executed, 127 when it is not found, else its own status', async () => {
    const initial = await kernelSnapshot();
    const missingNet = cli('run', '--net=itnosuchnet', '--', 'true');
    expect(missingNet.code).toBe(125);
    expect(missingNet.stderr).toContain('code: SWY_ERR_NETWORK_NOT_FOUND');
    const missingSandbox = cli('run', '--sandbox', 'itnosuchsb', '--', 'true');
    expect(missingSandbox.code).toBe(125);
    expect(missingSandbox.stderr).toContain('code: SWY_ERR_SANDBOX_NOT_FOUND');
    const badFlag = cli('run', '--bogus', '--', 'true');
    expect(badFlag.code).toBe(125);
    expect(badFlag.stderr).toContain('code: SWY_ERR_USAGE');
    expect(cli('run', '--sandbox', 'x', '--net=none', '--', 'true').code).toBe(125);

    const data = join(lab.root, 'data.txt');
    writeFileSync(data, 'not a program\n');
    chmodSync(data, 0o644);
    const noexec = cli('run', '--net=none', '--', data);
    expect(noexec.code).toBe(126);
    expect(noexec.stderr).toContain(`switchyard: ${data}: permission denied`);
    const notFound = cli('run', '--net=none', '--', 'swy-no-such-command');
    expect(notFound.code).toBe(127);
    expect(notFound.stderr).toContain('switchyard: swy-no-such-command: command not found');
    expect(cli('run', '--net=none', '--', 'sh', '-c', 'exit 3').code).toBe(3);
    expect(cli('run', '--net=none', '--', 'sh', '-c', 'kill -TERM $$').code).toBe(143);
    // The same in an existing sandbox, which stays.
    ok('sandbox', 'create', 'itcodes', '--none');
    expect(cli('run', '--sandbox', 'itcodes', '--', data).code).toBe(126);
    expect(cli('run', '--sandbox', 'itcodes', '--', 'swy-no-such-command').code).toBe(127);
    expect(cli('run', '--sandbox', 'itcodes', '--', 'sh', '-c', 'exit 3').code).toBe(3);
    // Its files gone, the command cannot get its view: a failure of run (125), and the sandbox still stays.
    const { filesDir } = (JSON.parse(ok('sandbox', 'inspect', 'itcodes', '--json').stdout) as { sandbox: { filesDir: string } }).sandbox;
    rmSync(filesDir, { recursive: true });
    const setup = cli('run', '--sandbox', 'itcodes', '--', 'true');
    expect(setup.code).toBe(125);
    expect(setup.stderr).toContain(`error: The command could not be set up in sandbox itcodes: mount --bind ${filesDir}/hosts /etc/hosts failed:`);
    expect(setup.stderr).toContain('code: SWY_ERR_RUN_SETUP_FAILED');
    expect(JSON.parse(ok('sandbox', 'ls', '--json').stdout).sandboxes.map((s: { name: string }) => s.name)).toEqual(['itcodes']);
    ok('sandbox', 'rm', 'itcodes');
    expect(await settledSnapshot(initial)).toEqual(initial);
  });
});

describe('run --sandbox: several commands in one sandbox, as containers in a pod', () => {
  test('a long command and a second one run at once, see the same interface and address, hold no lock; the sandbox and endpoint stay', async () => {
    ok('network', 'create', 'itshare', '--subnet', '10.213.0.0/24');
    ok('sandbox', 'create', 'itshared');
    ok('connect', 'itshare', 'itshared', '--ip', '10.213.0.9');
    const release = join(lab.root, 'release');
    // The first command prints what it sees, then waits until the test lets it end.
    const first = background('run', '--sandbox', 'itshared', '--', 'sh', '-c', 'ip -br -4 addr show dev eth0; echo ready; while [ ! -e "$0" ]; do sleep 0.05; done; cat /etc/hosts', release);
    try {
      await waitForOutput(first, 'ready\n');
      const second = cli('run', '--json', '--sandbox', 'itshared', '--', 'ip', '-br', '-4', 'addr', 'show', 'dev', 'eth0');
      expect(second.code).toBe(0);
      const firstLine = first.out().stdout.split('\n')[0] ?? '';
      expect(firstLine).toMatch(/^eth0@\S+\s+UP\s+10\.213\.0\.9\/24\s*$/);
      expect(second.stdout.split('\n')[0]).toBe(firstLine);
      // While the first command runs, commands that take the store's lock go on.
      ok('network', 'create', 'itother', '--subnet', '10.214.0.0/24');
      ok('network', 'rm', 'itother');
      // A connect meanwhile rewrites the sandbox's hosts file in place: the running command's bind mount shows it.
      ok('network', 'create', 'itlate', '--subnet', '10.215.0.0/24');
      ok('connect', 'itlate', 'itshared', '--ip', '10.215.0.9', '--alias', 'latecomer');
    } finally {
      writeFileSync(release, '');
    }
    const ended = await first.ended;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain('10.215.0.9\titshared latecomer\n');
    const after = JSON.parse(ok('sandbox', 'inspect', 'itshared', '--json').stdout) as { sandbox: { endpoints: Array<{ networkName: string; ipv4: string }> } };
    expect(after.sandbox.endpoints.map((e) => [e.networkName, e.ipv4])).toEqual([
      ['itshare', '10.213.0.9/24'],
      ['itlate', '10.215.0.9/24'],
    ]);
    const inside = await kernelSnapshot(['itshared']);
    expect(inside.namespaces.itshared?.addrs.map((a) => `${a.dev} ${a.cidr}`)).toContain('eth0 10.213.0.9/24');
  });

  test('a killed run --sandbox leaves no process in the sandbox', async () => {
    ok('sandbox', 'create', 'itkilled', '--none');
    const b = background('run', '--sandbox', 'itkilled', '--', 'sh', '-c', 'echo ready; exec sleep 600');
    await waitForOutput(b, 'ready\n');
    const pids = () => spawnSync('ip', ['netns', 'pids', 'itkilled'], { encoding: 'utf8' }).stdout.trim();
    expect(pids()).not.toBe('');
    b.child.kill('SIGKILL');
    await b.ended;
    // The kernel delivers the parent-death signal as the run process exits; give the sleep a moment to go.
    let left = pids();
    for (let i = 0; i < 100 && left !== ''; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      left = pids();
    }
    expect(left).toBe('');
    expect(JSON.parse(ok('sandbox', 'ls', '--json').stdout).sandboxes.map((s: { name: string }) => s.name)).toEqual(['itkilled']);
  });
});
