import { open, readFile, stat, statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { NetnsRef } from '../spi/kernel.js';
import { netnsPath, type CommandContext } from './iproute2-commands.js';
import { netnsCreateError } from './kernel-errors.js';

/** File-system checks on namespace files: no process spawned. */

const NSFS_MAGIC = 0x6e736673;

/** True when the path is a namespace file (a bind-mounted nsfs inode, or /proc/PID/ns/net). */
export async function isNamespaceFile(path: string): Promise<boolean> {
  try {
    return (await statfs(path)).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

export async function namespaceExists(ns: NetnsRef, ctx: CommandContext): Promise<boolean> {
  return ns.kind === 'host' || isNamespaceFile(netnsPath(ns, ctx));
}

/**
 * True when the directory is a shared mount point, as `ip netns add` leaves /run/netns: then a
 * namespace bound onto a file there shows in every mount namespace, as iproute2's own do.
 */
export async function isSharedMountPoint(dir: string): Promise<boolean> {
  try {
    const [self, parent] = await Promise.all([stat(dir), stat(dirname(dir))]);
    if (self.dev === parent.dev) return false;
    const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
    // Fields: id parent major:minor root mountpoint options [optional fields...] - fstype ...
    const line = mountinfo.split('\n').findLast((l) => l.split(' ')[4] === dir);
    return line !== undefined && /\sshared:\d+/.test(line.split(' - ')[0] ?? '');
  } catch {
    return false;
  }
}

/** Creates the empty file a new namespace `name` is bound onto; SWY_ERR_SANDBOX_EXISTS when the name is taken. */
export async function createNetnsFile(path: string, name: string): Promise<void> {
  try {
    await (await open(path, 'wx', 0o444)).close();
  } catch (cause) {
    throw netnsCreateError(name, (cause as NodeJS.ErrnoException).code === 'EEXIST' ? 'File exists' : (cause as Error).message, cause);
  }
}
