import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SwitchyardError, type NetnsRef } from '@switchyard/core';

const run = promisify(execFile);

/** Set in the re-executed demo: the namespace ids of the process that started it. */
export const LAB_ENV = 'SWITCHYARD_DEMO_LAB';

const BIN = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

/** `/proc/self/ns/<kind>` identity, e.g. `net:[4026531840]`. */
export async function namespaceId(kind: 'net' | 'mnt'): Promise<string> {
  return readlink(`/proc/self/ns/${kind}`);
}

/**
 * Runs the demo again inside `unshare --net --mount --propagation private` (the scripts/lab.sh
 * recipe), so nothing it does can reach the host's own namespace. Resolves to the inner exit status.
 */
export async function reexecInLab(args: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const marker = `${await namespaceId('net')} ${await namespaceId('mnt')}`;
  const child = spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--', process.execPath, BIN, 'demo', ...args], {
    stdio: 'inherit',
    env: { ...env, [LAB_ENV]: marker },
  });
  const forward = (sig: NodeJS.Signals) => () => void child.kill(sig);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'ENOENT' ? new SwitchyardError('SWY_ERR_TOOL_MISSING', 'unshare is not installed, so the demo cannot make its private lab', { hint: 'Install it: apt-get install util-linux.' }) : e),
      );
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

export interface Lab {
  stateDir: string;
  netDir: string;
  ipForward: string;
  dispose: () => Promise<void>;
}

/**
 * Inside the re-executed demo: proves it is in fresh network and mount namespaces, mounts a tmpfs on
 * /run/netns (sandboxes vanish with the lab), brings lo up, and makes a temporary state dir.
 */
export async function enterLab(marker: string): Promise<Lab> {
  const [outerNet, outerMnt] = marker.split(' ');
  if ((await namespaceId('net')) === outerNet || (await namespaceId('mnt')) === outerMnt) {
    throw new SwitchyardError('SWY_ERR_PERMISSION_DENIED', 'The demo is not inside a private network and mount namespace, so it refuses to touch anything', {
      hint: 'Run `switchyard demo` directly (it makes its own namespace with unshare); do not set SWITCHYARD_DEMO_LAB yourself.',
    });
  }
  await mkdir('/run/netns', { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'switchyard-demo', '/run/netns']);
  await run('ip', ['link', 'set', 'lo', 'up']);
  // A fresh namespace starts with forwarding off; make sure, since the isolation check relies on it.
  const forwardFile = '/proc/sys/net/ipv4/ip_forward';
  if ((await readFile(forwardFile, 'utf8')).trim() !== '0') await writeFile(forwardFile, '0');
  const ipForward = (await readFile(forwardFile, 'utf8')).trim();
  const stateDir = await mkdtemp(join(tmpdir(), 'switchyard-demo-'));
  const netDir = join(stateDir, 'net.d');
  return {
    stateDir,
    netDir,
    ipForward,
    dispose: () => rm(stateDir, { recursive: true, force: true }),
  };
}

/** A stand-in for the rest of the world inside the lab: a namespace routed through the lab's host namespace. */
export interface OutsideWorld {
  ns: NetnsRef;
  /** The lab host's address towards the outside (where published ports are reached). */
  hostAddress: string;
  /** The outside client's address. */
  clientAddress: string;
  dispose(): Promise<void>;
}

/** Makes the `outside` namespace: 198.51.100.2/24 (TEST-NET-2), default route via the lab host at 198.51.100.1. */
export async function setUpOutside(): Promise<OutsideWorld> {
  const ns: NetnsRef = { kind: 'named', name: 'outside' };
  await run('ip', ['netns', 'add', 'outside']);
  await run('ip', ['link', 'add', 'sy-outside', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'outside']);
  await run('ip', ['addr', 'add', '198.51.100.1/24', 'dev', 'sy-outside']);
  await run('ip', ['link', 'set', 'sy-outside', 'up']);
  for (const args of [
    ['addr', 'add', '198.51.100.2/24', 'dev', 'eth0'],
    ['link', 'set', 'eth0', 'up'],
    ['link', 'set', 'lo', 'up'],
    ['route', 'add', 'default', 'via', '198.51.100.1'],
  ]) {
    await run('ip', ['-n', 'outside', ...args]);
  }
  return {
    ns,
    hostAddress: '198.51.100.1',
    clientAddress: '198.51.100.2',
    dispose: async () => {
      await run('ip', ['netns', 'del', 'outside']).catch(() => undefined);
      await run('ip', ['link', 'del', 'sy-outside']).catch(() => undefined);
    },
  };
}
