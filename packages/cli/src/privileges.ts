import { readFileSync } from 'node:fs';
import { SwitchyardError } from '@switchyard/core';

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

export interface Privileges {
  uid: number;
  netAdmin: boolean;
  sysAdmin: boolean;
}

/** True when bit `cap` is set in the `CapEff:` line of a /proc/<pid>/status text. */
export function hasCapability(statusText: string, cap: number): boolean {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  if (!m?.[1]) return false;
  return ((BigInt('0x' + m[1]) >> BigInt(cap)) & 1n) === 1n;
}

/** This process's uid and effective capabilities, read from /proc/self/status. */
export function currentPrivileges(): Privileges {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // No /proc: only the uid can tell.
  }
  return { uid: process.getuid?.() ?? -1, netAdmin: hasCapability(status, CAP_NET_ADMIN), sysAdmin: hasCapability(status, CAP_SYS_ADMIN) };
}

/** uid 0 or CAP_NET_ADMIN: what changing links, addresses and namespaces needs. */
export function mayChangeKernel(p: Privileges = currentPrivileges()): boolean {
  return p.uid === 0 || p.netAdmin;
}

/** Throws SWY_ERR_PERMISSION_DENIED before a command that changes the kernel does anything. */
export function assertPrivileged(action: string, check: () => boolean = () => mayChangeKernel()): void {
  if (check()) return;
  throw new SwitchyardError('SWY_ERR_PERMISSION_DENIED', `${action} changes the kernel's network configuration, which needs root or CAP_NET_ADMIN`, {
    hint: 'Run as root (sudo) or with CAP_NET_ADMIN, or try it privately inside a throwaway namespace with `unshare -rn`.',
    details: { action },
  });
}
