import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kernelSnapshot, requireLab, settledSnapshot, type KernelSnapshot } from '@switchyard/core/testing';

// Many `switchyard` processes at once on the real kernel: per-object locks let them run in parallel,
// and whatever the interleaving, addresses stay unique and the store matches the kernel.
const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(CLI_DIR, 'bin', 'switchyard.js');
const PROCESSES = 20;
const ROUNDS = 3;

let root: string;
let env: NodeJS.ProcessEnv;
let initial: KernelSnapshot;

interface Outcome {
  code: number | null;
  out: string;
}

function cli(...args: string[]): Outcome {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

function ok(...args: string[]): string {
  const r = cli(...args);
  if (r.code !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${r.code}:\n${r.out}`);
  return r.out;
}

/** Starts every command at once and waits for all of them. */
function together(commands: string[][]): Promise<Outcome[]> {
  return Promise.all(
    commands.map(
      (args) =>
        new Promise<Outcome>((resolve) => {
          const child = spawn(process.execPath, [BIN, ...args], { env });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
          child.on('close', (code) => resolve({ code, out }));
        }),
    ),
  );
}

interface SandboxJson {
  name: string;
  endpoints: Array<{ networkName: string; ifname: string; ipv4?: string }>;
}

function sandboxes(): SandboxJson[] {
  return (JSON.parse(ok('sandbox', 'ls', '--json')) as { sandboxes: SandboxJson[] }).sandboxes;
}

/** IPv4 addresses on each sandbox's interfaces, as the kernel has them. */
function kernelAddresses(sandbox: string): string[] {
  const r = spawnSync('ip', ['-n', sandbox, '-j', '-4', 'addr', 'show'], { encoding: 'utf8' });
  const links = JSON.parse(r.stdout || '[]') as Array<{ ifname: string; addr_info: Array<{ local: string; prefixlen: number }> }>;
  return links.filter((l) => l.ifname !== 'lo').flatMap((l) => l.addr_info.map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`));
}

function addressFiles(network: string): string[] {
  const dir = join(root, 'state', 'ipam', 'host-local', network);
  return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
}

/** Store = kernel = IPAM files, and no address twice. */
function expectConsistent(network: string): void {
  const all = sandboxes();
  const stored = all.flatMap((s) => s.endpoints.map((e) => e.ipv4 ?? ''));
  expect(new Set(stored).size).toBe(stored.length);
  for (const s of all) expect(kernelAddresses(s.name)).toEqual(s.endpoints.map((e) => `${e.ifname} ${e.ipv4 ?? ''}`));
  expect(addressFiles(network).sort()).toEqual(stored.map((a) => a.split('/')[0] ?? '').sort());
  expect(readdirSync(join(root, 'state', 'intents'))).toEqual([]);
}

beforeAll(() => {
  requireLab();
  if (!existsSync(join(CLI_DIR, 'dist', 'main.js'))) throw new Error('The CLI is not built: run `npx tsc -b` before the kernel tests.');
});

beforeEach(async () => {
  initial = await kernelSnapshot('all');
  root = mkdtempSync(join(tmpdir(), 'swy-conc-'));
  env = { ...process.env, SWITCHYARD_STATE_DIR: join(root, 'state'), SWITCHYARD_NET_DIR: join(root, 'net.d') };
});

afterEach(async () => {
  for (const s of sandboxes()) cli('sandbox', 'rm', s.name);
  for (const n of (JSON.parse(ok('network', 'ls', '--json')) as { networks: Array<{ name: string }> }).networks) cli('network', 'rm', n.name);
  rmSync(root, { recursive: true, force: true });
  // eslint-disable-next-line jest/no-standalone-expect
  expect(await settledSnapshot(initial, 'all')).toEqual(initial);
});

test(`${PROCESSES} processes connecting and disconnecting at once, ${ROUNDS} rounds: unique addresses, store = kernel, no error`, async () => {
  ok('network', 'create', 'busy', '--subnet', '10.79.0.0/24');
  const names = Array.from({ length: PROCESSES }, (_, i) => `c${i}`);
  const created = await together(names.map((n) => ['sandbox', 'create', n]));
  expect(created.filter((r) => r.code !== 0)).toEqual([]);
  // All twenty join at once, then the odd ones leave at once.
  expect((await together(names.map((n) => ['connect', 'busy', n]))).filter((r) => r.code !== 0)).toEqual([]);
  expectConsistent('busy');
  expect((await together(names.filter((_, i) => i % 2 === 1).map((n) => ['disconnect', 'busy', n]))).filter((r) => r.code !== 0)).toEqual([]);
  expectConsistent('busy');
  // Each round, ten join while the other ten leave.
  for (let round = 1; round <= ROUNDS; round++) {
    const joining = names.filter((_, i) => (i + round) % 2 === 0);
    const leaving = names.filter((n) => !joining.includes(n));
    const results = await together([...joining.map((n) => ['connect', 'busy', n]), ...leaving.map((n) => ['disconnect', 'busy', n])]);
    expect(results.filter((r) => r.code !== 0)).toEqual([]);
    expectConsistent('busy');
  }
});

test('parallel network creates never clash: distinct pools and bridges, one winner per name with a clear error for the other', async () => {
  const results = await together([...Array.from({ length: 8 }, (_, i) => ['network', 'create', `p${i}`]), ['network', 'create', 'same'], ['network', 'create', 'same']]);
  expect(results.slice(0, 8).filter((r) => r.code !== 0)).toEqual([]);
  const same = results.slice(8).map((r) => r.code);
  expect(same.sort()).toEqual([0, 4]);
  expect(results.slice(8).find((r) => r.code !== 0)?.out).toContain('SWY_ERR_NETWORK_EXISTS');
  const networks = (JSON.parse(ok('network', 'ls', '--json')) as { networks: Array<{ ipv4: { subnet: string }; driverState: { bridge: string } }> }).networks;
  expect(networks).toHaveLength(9);
  expect(new Set(networks.map((n) => n.ipv4.subnet)).size).toBe(9);
  expect(new Set(networks.map((n) => n.driverState.bridge)).size).toBe(9);
});

test('a command kept waiting for a lock says who holds it, then goes on', async () => {
  ok('network', 'create', 'held', '--subnet', '10.79.1.0/24');
  ok('sandbox', 'create', 'waiter');
  // Another process (flock(1)) holds the sandbox's lock for two seconds.
  const holder = spawn('flock', [join(root, 'state', 'locks', 'sandbox-waiter'), 'sleep', '2'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const [r] = await together([['connect', 'held', 'waiter']]);
  expect(r?.code).toBe(0);
  expect(r?.out).toMatch(new RegExp(`waiting for the lock on sandbox waiter, held by pid ${holder.pid} \\(flock .*sleep 2\\)`));
  expect(r?.out).toContain('connected waiter to held');
});
