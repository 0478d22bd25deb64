import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSnapshot, requireLab, settledSnapshot, waitUntil, type KernelSnapshot } from '@switchyard/core/testing';

// gc on the real kernel: the reboot case, a killed `run`, a bridge deleted by hand, an orphaned link.
const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(CLI_DIR, 'bin', 'switchyard.js');

let root: string;
let env: NodeJS.ProcessEnv;
let initial: KernelSnapshot;

function cli(...args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

function ok(...args: string[]): string {
  const r = cli(...args);
  if (r.code !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${r.code}:\n${r.out}`);
  return r.out;
}

function json<T>(...args: string[]): T {
  return JSON.parse(ok(...args, '--json')) as T;
}

function ip(...args: string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const bridgeOf = (network: string): string => json<{ network: { driverState: { bridge: string } } }>('network', 'inspect', network).network.driverState.bridge;
const staleSandboxes = (): Record<string, string | undefined> => Object.fromEntries(json<{ sandboxes: Array<{ name: string; stale?: string }> }>('sandbox', 'ls').sandboxes.map((s) => [s.name, s.stale]));
const addressFiles = (network: string): string[] => readdirSync(join(root, 'state', 'ipam', 'host-local', network)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));

beforeAll(() => {
  requireLab();
  if (!existsSync(join(CLI_DIR, 'dist', 'main.js'))) throw new Error('The CLI is not built: run `npx tsc -b` before the kernel tests.');
});

beforeEach(async () => {
  initial = await kernelSnapshot('all');
  root = mkdtempSync(join(tmpdir(), 'swy-gc-'));
  env = { ...process.env, SWITCHYARD_STATE_DIR: join(root, 'state'), SWITCHYARD_NET_DIR: join(root, 'net.d') };
});

afterEach(async () => {
  for (const s of json<{ sandboxes: Array<{ name: string }> }>('sandbox', 'ls').sandboxes) cli('sandbox', 'rm', s.name);
  for (const n of json<{ networks: Array<{ name: string }> }>('network', 'ls').networks) cli('network', 'rm', n.name);
  rmSync(root, { recursive: true, force: true });
  // Every test ends leak-checked: removing what it made leaves the lab as it was.
  // eslint-disable-next-line jest/no-standalone-expect
  expect(await settledSnapshot(initial, 'all')).toEqual(initial);
});

test('after a "reboot" (namespaces and bridge gone) ls marks everything stale and one gc reclaims every address', () => {
  // A /29 holds five sandbox addresses: three stale ones plus three new ones would not fit without gc.
  ok('network', 'create', 'small', '--subnet', '10.78.0.0/29');
  for (const s of ['a', 'b', 'c']) {
    ok('sandbox', 'create', s);
    ok('connect', 'small', s);
  }
  const bridge = bridgeOf('small');
  for (const s of ['a', 'b', 'c']) ip('netns', 'del', s);
  ip('link', 'del', bridge);

  expect(staleSandboxes()).toEqual({ a: 'its network namespace is gone', b: 'its network namespace is gone', c: 'its network namespace is gone' });
  expect(json<{ networks: Array<{ stale?: string }> }>('network', 'ls').networks[0]?.stale).toBe(`bridge ${bridge} is missing`);
  expect(ok('gc', '--dry-run')).toContain('would remove sandbox a');
  expect(addressFiles('small')).toHaveLength(3);

  const report = json<{ actions: Array<{ kind: string; target: string; done: boolean }> }>('gc');
  expect(report.actions.map((a) => `${a.kind} ${a.target} ${a.done}`).sort()).toEqual(['remove-sandbox a true', 'remove-sandbox b true', 'remove-sandbox c true', 'restore-network small true']);
  expect(addressFiles('small')).toEqual([]);
  expect(ip('-br', 'link', 'show', bridge)).toContain('UP');
  expect(ok('gc')).toContain('Nothing to collect');

  for (const s of ['d', 'e', 'f']) {
    ok('sandbox', 'create', s);
    ok('connect', 'small', s);
  }
  const d = json<{ sandbox: { endpoints: Array<{ ipv4: string }> } }>('sandbox', 'inspect', 'e').sandbox.endpoints[0]?.ipv4 ?? '';
  const ping = spawnSync('ip', ['netns', 'exec', 'd', 'ping', '-n', '-c1', '-W2', d.split('/')[0] ?? ''], { encoding: 'utf8' });
  expect(ping.stdout).toContain('1 received');
});

test('a run killed with SIGKILL takes its command along, and gc removes its sandbox', async () => {
  ok('network', 'create', 'runs', '--subnet', '10.78.1.0/24');
  const marker = `${3000 + Math.floor(Math.random() * 1000)}`;
  const run = spawn(process.execPath, [BIN, 'run', '--name', 'killed', '--net=runs', '--', 'sleep', marker], { env, stdio: 'ignore' });
  const sleeping = (): boolean => spawnSync('pgrep', ['-f', `^sleep ${marker}$`]).status === 0;
  await waitUntil(() => sleeping(), 'the run command to start');
  expect(staleSandboxes()).toEqual({ killed: undefined });
  run.kill('SIGKILL');
  await waitUntil(() => !sleeping(), 'the command to die with its run');
  await waitUntil(() => staleSandboxes().killed !== undefined, 'the sandbox to be marked stale');
  expect(staleSandboxes().killed).toMatch(/^the switchyard run that owned it \(pid \d+\) has exited$/);
  expect(ok('gc')).toContain('removed sandbox killed');
  expect(staleSandboxes()).toEqual({});
  expect(addressFiles('runs')).toEqual([]);
});

test('a connect finds the bridge deleted by hand, brings it back and succeeds', () => {
  ok('network', 'create', 'vanish', '--subnet', '10.78.2.0/24');
  ok('sandbox', 'create', 'g');
  ok('connect', 'vanish', 'g');
  ok('sandbox', 'create', 'h');
  const bridge = bridgeOf('vanish');
  ip('link', 'del', bridge);
  expect(ok('connect', 'vanish', 'h')).toContain('connected h to vanish');
  expect(ip('-br', 'link', 'show', bridge)).toContain('UP');
  expect(ip('-br', 'addr', 'show', bridge)).toContain('10.78.2.1/24');
});

test('gc removes an endpoint link left on the host with no endpoint, and nothing else', () => {
  ok('network', 'create', 'orphans', '--subnet', '10.78.3.0/24');
  ok('sandbox', 'create', 'i');
  ok('connect', 'orphans', 'i');
  ip('link', 'add', 'syb0123456789', 'type', 'veth', 'peer', 'name', 'orphanpeer');
  const report = json<{ actions: Array<{ kind: string; target: string }> }>('gc');
  expect(report.actions.map((a) => `${a.kind} ${a.target}`)).toEqual(['remove-link syb0123456789']);
  expect(spawnSync('ip', ['link', 'show', 'orphanpeer']).status).not.toBe(0);
  expect(staleSandboxes()).toEqual({ i: undefined });
});

test('state and IPAM files are 0600 in 0700 directories (the sandbox hosts and resolv.conf, read inside containers, excepted)', () => {
  ok('network', 'create', 'modes', '--subnet', '10.78.4.0/24');
  ok('sandbox', 'create', 'm');
  ok('connect', 'modes', 'm');
  const wrong: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = statSync(path);
      const mode = st.mode & 0o777;
      const sandboxFile = path.startsWith(join(root, 'state', 'run', 'sandboxes') + '/');
      if (st.isDirectory()) {
        if (mode !== (sandboxFile ? 0o755 : 0o700)) wrong.push(`${path} ${mode.toString(8)}`);
        walk(path);
      } else if (mode !== (sandboxFile ? 0o644 : 0o600)) wrong.push(`${path} ${mode.toString(8)}`);
    }
  };
  walk(join(root, 'state'));
  expect(wrong).toEqual([]);
});
