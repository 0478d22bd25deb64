import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireLab } from '@switchyard/core/testing';

// The built command (`pnpm run build` first), run as a user would inside the lab namespace.
export const CLI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(CLI_DIR, 'bin', 'switchyard.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One kernel test file's CLI: a fresh state dir and net dir per test (`root`, `env`, which a test may change). */
export interface CliLab {
  root: string;
  env: NodeJS.ProcessEnv;
  /** Runs `switchyard ARGS…` (stdin closed, or `input` on it). */
  cli: (args: readonly string[], input?: string) => CliResult;
  /** As cli, throwing with the output when the exit status is not 0. */
  ok: (...args: string[]) => CliResult;
}

/**
 * Registers the hooks of a kernel test file that drives the CLI: lab only, built CLI, a temporary
 * root per test, and after each test whatever sandboxes and networks it left (a test that failed half
 * way) removed before the root goes.
 */
export function cliLab(prefix: string): CliLab {
  const lab: CliLab = {
    root: '',
    env: {},
    cli: (args, input) => {
      const r = spawnSync(process.execPath, [BIN, ...args], { env: lab.env, encoding: 'utf8', ...(input === undefined ? { stdio: ['ignore', 'pipe', 'pipe'] } : { input }) });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    ok: (...args) => {
      const r = lab.cli(args);
      if (r.code !== 0) throw new Error(`switchyard ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
      return r;
    },
  };
  beforeAll(() => {
    requireLab();
    if (!existsSync(join(CLI_DIR, 'dist', 'main.js'))) throw new Error('The CLI is not built: run `pnpm run build` before the kernel tests.');
  });
  beforeEach(() => {
    lab.root = mkdtempSync(join(tmpdir(), prefix));
    lab.env = { ...process.env, SWITCHYARD_STATE_DIR: join(lab.root, 'state'), SWITCHYARD_NET_DIR: join(lab.root, 'net.d') };
  });
  afterEach(() => {
    try {
      const names = (kind: 'sandbox' | 'network') => lab.cli([kind, 'ls', '--format', '{{.Name}}']).stdout.split('\n').filter(Boolean);
      for (const s of names('sandbox')) lab.cli(['sandbox', 'rm', s]);
      for (const n of names('network')) lab.cli(['network', 'rm', n]);
    } finally {
      rmSync(lab.root, { recursive: true, force: true });
    }
  });
  return lab;
}
