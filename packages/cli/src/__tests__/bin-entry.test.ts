import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// bin/entry.js decides whether a command runs from the bundle (dist-bundle/switchyard.cjs) or the built
// ES modules: only a bundle newer than every package build it holds, never for `plugin` commands or a
// state dir with plugins installed (one copy of @switchyard/core per process).
const { bundledEntry } = createRequire(import.meta.url)(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'entry.js')) as {
  bundledEntry: (argv: string[], env: NodeJS.ProcessEnv, bundleDir: string) => { bundle: string; command: string | undefined } | undefined;
};

let root: string;
let bundleDir: string;
let stateDir: string;
const HOUR = 3600;

/** Sets a file's modification time `age` seconds in the past. */
const age = (path: string, seconds: number) => {
  const t = Date.now() / 1000 - seconds;
  utimesSync(path, t, t);
};

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'swy-bin-entry-'));
  bundleDir = join(root, 'cli', 'dist-bundle');
  mkdirSync(bundleDir, { recursive: true });
  mkdirSync(join(root, 'core'));
  for (const p of ['cli', 'core']) writeFileSync(join(root, p, 'tsconfig.tsbuildinfo'), '{}');
  writeFileSync(join(bundleDir, 'stamps.json'), JSON.stringify(['../tsconfig.tsbuildinfo', '../../core/tsconfig.tsbuildinfo']));
  writeFileSync(join(bundleDir, 'switchyard.cjs'), '');
  for (const p of ['cli', 'core']) age(join(root, p, 'tsconfig.tsbuildinfo'), 2 * HOUR);
  age(join(bundleDir, 'switchyard.cjs'), HOUR);
  stateDir = join(root, 'state');
  mkdirSync(join(stateDir, 'plugins'), { recursive: true });
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ SWITCHYARD_STATE_DIR: stateDir, ...extra });
const choose = (argv: string[], extra?: NodeJS.ProcessEnv) => bundledEntry(argv, env(extra), bundleDir);
const plugin = (dir: string, name: string) => mkdirSync(join(dir, 'plugins', 'node_modules', name), { recursive: true });

test('a bundle newer than every package build it holds runs the command, and names the command word', () => {
  expect(choose(['--json', 'network', 'ls'])).toEqual({ bundle: join(bundleDir, 'switchyard.cjs'), command: 'network' });
  expect(choose(['--state-dir', stateDir, 'connect', 'n', 's'])?.command).toBe('connect');
});

test('a package built after the bundle (a tsc -b since) sends the command to the built modules', () => {
  age(join(root, 'core', 'tsconfig.tsbuildinfo'), 60);
  expect(choose(['network', 'ls'])).toBeUndefined();
});

test('a missing bundle, stamps list or build-info file sends the command to the built modules', () => {
  rmSync(join(root, 'core', 'tsconfig.tsbuildinfo'));
  expect(choose(['network', 'ls'])).toBeUndefined();
  writeFileSync(join(root, 'core', 'tsconfig.tsbuildinfo'), '{}');
  age(join(root, 'core', 'tsconfig.tsbuildinfo'), 2 * HOUR);
  expect(choose(['network', 'ls'])).toBeDefined();
  rmSync(join(bundleDir, 'stamps.json'));
  expect(choose(['network', 'ls'])).toBeUndefined();
});

test('SWITCHYARD_CLI_BUNDLE=0 and `plugin` commands never use the bundle', () => {
  expect(choose(['network', 'ls'], { SWITCHYARD_CLI_BUNDLE: '0' })).toBeUndefined();
  expect(choose(['plugin', 'ls'])).toBeUndefined();
  expect(choose(['--state-dir', stateDir, '--json', 'plugin', 'install', 'x'])).toBeUndefined();
});

test('plugins installed in the state dir named by the command line, the environment or the default keep the bundle out', () => {
  plugin(stateDir, '.bin');
  plugin(stateDir, '@switchyard/core');
  expect(choose(['network', 'ls'])).toBeDefined(); // core's own link is not a plugin
  plugin(stateDir, '@switchyard/driver-dummy');
  expect(choose(['network', 'ls'])).toBeUndefined();
  rmSync(join(stateDir, 'plugins', 'node_modules', '@switchyard', 'driver-dummy'), { recursive: true });
  expect(choose(['network', 'ls'])).toBeDefined();
  // Installed by `plugin install` or put there by hand: what is in node_modules counts, not package.json.
  plugin(stateDir, 'switchyard-driver-dummy');
  expect(choose(['network', 'ls'])).toBeUndefined();

  // Another state dir without plugins, named on the command line (both spellings), wins over the environment.
  const other = join(root, 'other');
  mkdirSync(join(other, 'plugins'), { recursive: true });
  expect(choose(['--state-dir', other, 'network', 'ls'])).toBeDefined();
  expect(choose([`--state-dir=${other}`, 'network', 'ls'])).toBeDefined();
  // What follows `--` is the command `run` starts, not switchyard's own options.
  expect(choose(['run', '--net=none', '--', 'x', '--state-dir', other])).toBeUndefined();
  // The value of --net-dir is not the command word.
  expect(choose(['--state-dir', other, '--net-dir', 'plugin', 'network', 'ls'])?.command).toBe('network');
});
