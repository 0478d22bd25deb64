import type { KernelStep } from '../../spi/kernel.js';
import type { KernelFailureReason } from '../kernel-errors.js';
import { Errno } from './constants.js';

/**
 * Why a netlink request failed, from the errno (and the kernel's sentence) — the counterpart of
 * classifyIpMessage, which reads the same reasons out of iproute2's text for the same failures.
 */
export function classifyErrno(step: KernelStep, errno: number, extack?: string): KernelFailureReason {
  const op = step.op.op;
  if (errno === Errno.EPERM || errno === Errno.EACCES) return 'permission';
  if (errno === Errno.ENODEV) return 'link-missing';
  if (extack !== undefined && /Unknown device type/i.test(extack)) return 'unsupported';
  if (errno === Errno.EOPNOTSUPP) return op === 'link.add' ? 'unsupported' : 'other';
  if (errno === Errno.EEXIST) return 'exists';
  if ((op === 'addr.del' || op === 'route.del') && (errno === Errno.ESRCH || errno === Errno.EADDRNOTAVAIL)) return 'entry-missing';
  if (errno === Errno.ENETUNREACH || errno === Errno.EHOSTUNREACH || errno === Errno.ENETDOWN) return 'unreachable';
  if (extack !== undefined && /Nexthop has invalid gateway|is not up/i.test(extack)) return 'unreachable';
  if (errno === Errno.EXFULL && op === 'link.set' && step.op.op === 'link.set' && step.op.master !== undefined) return 'bridge-full';
  return 'other';
}
