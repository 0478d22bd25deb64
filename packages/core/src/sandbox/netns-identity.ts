import { statSync } from 'node:fs';
import { SwitchyardError } from '../errors/switchyard-error.js';
import type { NetnsIdentity, SandboxRecord } from '../model/types.js';

/**
 * A network namespace is the inode behind its file: `/proc/<pid>/ns/net` names whatever namespace
 * that PID has now (a reused PID, another one), and `/proc/self/ns/net` whichever process reads it.
 * Switchyard records the device and inode when it adopts a namespace by path, and acts on that path
 * later only while it still leads to the same namespace.
 */
export function netnsIdentity(path: string): NetnsIdentity | undefined {
  try {
    const st = statSync(path);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/**
 * Refuses a namespace path this process may not open (EACCES/EPERM: a process of another user namespace,
 * or /proc hidden from root in some containers) with what it is, rather than "not found".
 */
export function assertNetnsOpenable(path: string): void {
  try {
    statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') return;
    throw new SwitchyardError('SWY_ERR_PERMISSION_DENIED', `The network namespace at ${path} cannot be opened by this process (${code})`, {
      hint: 'It belongs to a process this one may not inspect (another user namespace, or /proc restricted); give the namespace of a process in this one, or a bind mount of it under /run/netns.',
      details: { path, errno: code },
    });
  }
}

const same = (a: NetnsIdentity | undefined, b: NetnsIdentity | undefined): boolean => a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;

/** Refuses to adopt the caller's own namespace or PID 1's as an isolated sandbox: connects would plan eth0 and a default route there. */
export function assertAdoptableNamespace(path: string, identity: NetnsIdentity | undefined): void {
  for (const [whose, own] of [
    ["this process's own", '/proc/self/ns/net'],
    ["PID 1's (the host's)", '/proc/1/ns/net'],
  ] as const) {
    if (same(identity, netnsIdentity(own))) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `${path} is ${whose} network namespace, which cannot be adopted as an isolated sandbox`, {
        hint: 'To run in the host namespace, create the sandbox with --host (mode "host"); otherwise give the namespace of the container process.',
        details: { path },
      });
    }
  }
}

/** False when an adopted namespace's path now leads to another namespace (its process exited and the PID was reused). */
export function stillSameNamespace(sandbox: Pick<SandboxRecord, 'netns' | 'netnsIdentity'>): boolean {
  if (sandbox.netns.kind !== 'path' || sandbox.netnsIdentity === undefined) return true;
  const now = netnsIdentity(sandbox.netns.path);
  return now === undefined || same(now, sandbox.netnsIdentity);
}
