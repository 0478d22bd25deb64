import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { faultPoints } from '@switchyard/core';
import { kernelSnapshot, requireLab, settledSnapshot } from '@switchyard/core/testing';
import { firewallTable, stateFiles } from './crash-checks.js';

// The crash matrix: for every declared fault point, a real `switchyard` process is SIGKILLed exactly
// there (SWITCHYARD_FAULT_POINT), then `switchyard gc` runs. Whatever the operation was, it must end
// either completed or rolled back, with nothing leaked: after undoing a completed operation by hand,
// the kernel (every namespace), the store, the IPAM files and the sandbox files are exactly as before,
// and the bystander sandbox connected throughout still has its interface and address.
const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(CLI_DIR, 'bin', 'switchyard.js');

let root: string;
let env: NodeJS.ProcessEnv;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

function cli(args: string[], extra: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
  return { code: r.status, signal: r.signal, out: r.stdout + r.stderr };
}

function ok(...args: string[]): string {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.out}`);
  return r.out;
}

function exists(kind: 'network' | 'sandbox', name: string): boolean {
  return cli([kind, 'inspect', name]).code === 0;
}

function connected(network: string, sandbox: string): boolean {
  const r = cli(['sandbox', 'inspect', sandbox, '--json']);
  if (r.code !== 0) return false;
  return (JSON.parse(r.out) as { sandbox: { endpoints: Array<{ networkName: string }> } }).sandbox.endpoints.some((e) => e.networkName === network);
}

interface Case {
  /** The operation's verb, which names its fault points (`connect:…`). */
  op: string;
  /** Commands that set the stage (run without faults). */
  before: string[][];
  /** The operation that gets killed. */
  run: string[];
  /** After gc: is the operation's effect present (it completed)? */
  completed: () => boolean;
  /** Brings a completed (or set-up) state back to the baseline. */
  undo: (completed: boolean) => void;
  /** Deletes must always finish once begun; creates may go either way. */
  mustComplete: boolean;
}

const CASES: Case[] = [
  {
    op: 'network.create',
    before: [],
    run: ['network', 'create', 'crashnet', '--subnet', '10.77.2.0/24'],
    completed: () => exists('network', 'crashnet'),
    undo: (c) => void (c && ok('network', 'rm', 'crashnet')),
    mustComplete: false,
  },
  {
    op: 'network.delete',
    before: [['network', 'create', 'crashnet', '--subnet', '10.77.2.0/24']],
    run: ['network', 'rm', 'crashnet'],
    completed: () => !exists('network', 'crashnet'),
    undo: () => undefined,
    mustComplete: true,
  },
  { op: 'sandbox.create', before: [], run: ['sandbox', 'create', 'crashbox'], completed: () => exists('sandbox', 'crashbox'), undo: (c) => void (c && ok('sandbox', 'rm', 'crashbox')), mustComplete: false },
  {
    op: 'sandbox.delete',
    before: [
      ['sandbox', 'create', 'crashbox'],
      ['connect', 'base', 'crashbox'],
    ],
    run: ['sandbox', 'rm', 'crashbox'],
    completed: () => !exists('sandbox', 'crashbox'),
    undo: () => undefined,
    mustComplete: true,
  },
  {
    op: 'connect',
    before: [['sandbox', 'create', 'crashbox']],
    // With a published port, so the firewall step of connect is in the matrix too.
    run: ['connect', 'base', 'crashbox', '-p', '8080:80'],
    completed: () => connected('base', 'crashbox'),
    undo: () => void ok('sandbox', 'rm', 'crashbox'),
    mustComplete: false,
  },
  {
    op: 'disconnect',
    before: [
      ['sandbox', 'create', 'crashbox'],
      ['connect', 'base', 'crashbox'],
    ],
    run: ['disconnect', 'base', 'crashbox'],
    completed: () => !connected('base', 'crashbox'),
    undo: () => void ok('sandbox', 'rm', 'crashbox'),
    mustComplete: true,
  },
];

beforeAll(() => {
  requireLab();
  if (!existsSync(join(CLI_DIR, 'dist', 'main.js'))) throw new Error('The CLI is not built: run `npx tsc -b` before the kernel tests.');
  root = mkdtempSync(join(tmpdir(), 'swy-crash-'));
  env = { ...process.env, SWITCHYARD_STATE_DIR: join(root, 'state'), SWITCHYARD_NET_DIR: join(root, 'net.d') };
  ok('network', 'create', 'base', '--subnet', '10.77.1.0/24');
  ok('sandbox', 'create', 'bystander');
  ok('connect', 'base', 'bystander');
});

afterAll(() => {
  cli(['sandbox', 'rm', 'bystander', 'crashbox']);
  cli(['network', 'rm', 'crashnet', 'base']);
  rmSync(root, { recursive: true, force: true });
});

const points = faultPoints();
const matrix = points.map((point) => {
  const c = CASES.find((k) => point.startsWith(`${k.op}:`));
  return { point, c };
});

test('every declared fault point is in the matrix', () => {
  expect(matrix.filter((m) => m.c === undefined).map((m) => m.point)).toEqual([]);
  expect(points.length).toBeGreaterThanOrEqual(25);
});

describe.each(matrix.filter((m) => m.c !== undefined).map((m) => [m.point, m.c as Case] as const))('SIGKILL at %s', (point, c) => {
  test('gc completes or rolls back the operation and nothing leaks', async () => {
    const baseKernel = await kernelSnapshot('all');
    const baseFiles = stateFiles(join(root, 'state'), root);
    const baseFirewall = firewallTable();
    for (const args of c.before) ok(...args);

    const killed = cli(c.run, { SWITCHYARD_FAULT_POINT: point });
    // The point was reached and the process died there (not an ordinary failure).
    expect({ signal: killed.signal, out: killed.out }).toEqual({ signal: 'SIGKILL', out: expect.any(String) as string });

    const gc = cli(['gc']);
    expect({ code: gc.code, out: gc.out }).toEqual({ code: 0, out: expect.any(String) as string });
    expect(cli(['gc', '--dry-run']).out).toContain('Nothing to collect');
    const completed = c.completed();
    // A delete that began is finished; a create may be either finished or rolled back.
    expect(completed || !c.mustComplete).toBe(true);
    c.undo(completed);

    expect(await settledSnapshot(baseKernel, 'all')).toEqual(baseKernel);
    expect(stateFiles(join(root, 'state'), root)).toEqual(baseFiles);
    // Not an element more or less in the firewall: a crash after its transaction is undone by gc too.
    expect(firewallTable()).toEqual(baseFirewall);
    // The bystander kept its interface and address through all of it.
    expect(ok('sandbox', 'inspect', 'bystander')).toContain('10.77.1.2/24');
  });
});
