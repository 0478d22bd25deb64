import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { kernelSnapshot, settledSnapshot, waitUntil, type KernelSnapshot } from '@switchyard/core/testing';
import { cliLab } from './cli-lab.js';

// `sandbox prune` and `network prune` on the real kernel: "no process in the namespace" is read from
// /proc, the confirmation is read from stdin as `yes | docker network prune` does, and what goes leaves no link.
const lab = cliLab('swy-prune-');
const cli = lab.cli;
const ok = (...args: string[]): string => lab.ok(...args).stdout;
let initial: KernelSnapshot;
const children: ChildProcess[] = [];

const namesOf = (kind: 'network' | 'sandbox') => ok(kind, 'ls', '--format', '{{.Name}}').split('\n').filter(Boolean);
const linkExists = (name: string) => spawnSync('ip', ['link', 'show', name], { encoding: 'utf8' }).status === 0;

beforeEach(async () => {
  initial = await kernelSnapshot('all');
});

// After cliLab's own clean-up (hooks of one block run in the order they are declared): the lab as it was.
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  // eslint-disable-next-line jest/no-standalone-expect
  expect(await settledSnapshot(initial, 'all')).toEqual(initial);
});

test('sandbox prune keeps the sandbox a process is in and removes the idle ones with their host-side links', async () => {
  ok('network', 'create', 'pn', '--subnet', '10.79.0.0/24');
  for (const s of ['idle', 'busy', 'bare']) ok('sandbox', 'create', s);
  ok('connect', 'pn', 'idle');
  ok('connect', 'pn', 'busy');
  const hostLinks = () =>
    spawnSync('ip', ['-o', 'link', 'show', 'master', JSON.parse(ok('network', 'inspect', 'pn', '--json')).network.driverState.bridge], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean).length;
  expect(hostLinks()).toBe(2);
  // A process in busy's namespace, as a container's would be.
  const sleeper = spawn('ip', ['netns', 'exec', 'busy', 'sleep', '600'], { stdio: 'ignore' });
  children.push(sleeper);
  await waitUntil(() => spawnSync('ip', ['netns', 'pids', 'busy'], { encoding: 'utf8' }).stdout.trim() !== '', 'the sleeper to enter busy');

  const r = cli(['sandbox', 'prune', '--force']);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe('Deleted Sandboxes:\nbare\nidle\n');
  expect(namesOf('sandbox')).toEqual(['busy']);
  expect(existsSync('/run/netns/idle')).toBe(false);
  expect(hostLinks()).toBe(1);

  // Once the process is gone, the next prune takes busy too.
  sleeper.kill('SIGKILL');
  await waitUntil(() => sleeper.exitCode !== null || sleeper.signalCode !== null, 'the sleeper to exit');
  expect(cli(['sandbox', 'prune', '-f']).stdout).toBe('Deleted Sandboxes:\nbusy\n');
  expect(hostLinks()).toBe(0);
});

test('network prune asks on stdin: n keeps everything, y removes the unused networks and their bridges', () => {
  ok('network', 'create', 'used', '--subnet', '10.79.1.0/24');
  ok('network', 'create', 'unused', '--subnet', '10.79.2.0/24');
  ok('sandbox', 'create', 's');
  ok('connect', 'used', 's');
  const bridge = JSON.parse(ok('network', 'inspect', 'unused', '--json')).network.driverState.bridge as string;
  expect(linkExists(bridge)).toBe(true);

  const no = cli(['network', 'prune'], 'n\n');
  expect([no.code, no.stdout]).toEqual([0, '']);
  expect(no.stderr).toContain('Are you sure you want to continue? [y/N]');
  expect(namesOf('network')).toEqual(['unused', 'used']);
  // End of input is no as well.
  expect(cli(['network', 'prune'], '').stdout).toBe('');

  const yes = cli(['network', 'prune'], 'y\n');
  expect([yes.code, yes.stdout]).toEqual([0, 'Deleted Networks:\nunused\n']);
  expect(namesOf('network')).toEqual(['used']);
  expect(linkExists(bridge)).toBe(false);
});
