import { createRequire } from 'node:module';
import { join } from 'node:path';
import { kernelSnapshot, settledSnapshot, type KernelSnapshot } from '@switchyard/core/testing';
import { CLI_DIR, cliLab, type CliResult } from './cli-lab.js';

// The bundled command (dist-bundle/switchyard.cjs, made by `pnpm build`) against the built ES modules it
// was made from, on the real kernel: the same answers, errors and exit codes, and objects made by one
// are used by the other.
const lab = cliLab('swy-bundle-');
const { bundledEntry } = createRequire(import.meta.url)(join(CLI_DIR, 'bin', 'entry.js')) as {
  bundledEntry: (argv: string[], env: NodeJS.ProcessEnv, bundleDir: string) => { bundle: string } | undefined;
};
let initial: KernelSnapshot;

const run = (bundle: '0' | '1', args: string[]): CliResult => {
  const saved = lab.env;
  lab.env = { ...saved, SWITCHYARD_CLI_BUNDLE: bundle };
  try {
    return lab.cli(args);
  } finally {
    lab.env = saved;
  }
};
const both = (args: string[]) => ({ bundled: run('1', args), modules: run('0', args) });

beforeEach(async () => {
  initial = await kernelSnapshot('all');
});

afterEach(async () => {
  // eslint-disable-next-line jest/no-standalone-expect
  expect(await settledSnapshot(initial, 'all')).toEqual(initial);
});

test('the build made a bundle that runs commands (fresh, no plugins installed)', () => {
  expect(bundledEntry(['network', 'ls'], lab.env, join(CLI_DIR, 'dist-bundle'))).toEqual(expect.objectContaining({ bundle: join(CLI_DIR, 'dist-bundle', 'switchyard.cjs') }));
});

test('the bundle and the modules answer alike and share their objects', () => {
  expect(run('1', ['network', 'create', 'bundnet', '--subnet', '10.78.0.0/24']).code).toBe(0);
  expect(run('0', ['sandbox', 'create', 'bundsb']).code).toBe(0);
  expect(run('1', ['connect', 'bundnet', 'bundsb', '--ip', '10.78.0.9']).code).toBe(0);
  for (const args of [['network', 'ls', '--json'], ['network', 'inspect', 'bundnet', '--json'], ['sandbox', 'inspect', 'bundsb', '--json'], ['sandbox', 'ls'], ['--help'], ['network', 'create', '--help']]) {
    const { bundled, modules } = both(args);
    expect({ args, ...bundled }).toEqual({ args, ...modules });
    expect(bundled.code).toBe(0);
  }
  expect(JSON.parse(run('1', ['sandbox', 'inspect', 'bundsb', '--json']).stdout).sandbox.endpoints[0].ipv4).toBe('10.78.0.9/24');

  // Errors: the same code, sentence and hint, the same exit status.
  for (const args of [['connect', 'nosuchnet', 'bundsb'], ['network', 'create', 'bad', '--subnet', '10.78.0.5/24'], ['no-such-command']]) {
    const { bundled, modules } = both(args);
    expect({ args, ...bundled }).toEqual({ args, ...modules });
    expect(bundled.code).not.toBe(0);
  }

  expect(run('0', ['disconnect', 'bundnet', 'bundsb']).code).toBe(0);
  expect(run('1', ['sandbox', 'rm', 'bundsb']).code).toBe(0);
  expect(run('0', ['network', 'rm', 'bundnet']).code).toBe(0);
});
