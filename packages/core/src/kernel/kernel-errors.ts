import { SwitchyardError, type ErrorCode } from '../errors/index.js';
import type { KernelStep } from '../spi/kernel.js';
import { describeStep } from './describe-step.js';

/**
 * Why a kernel step failed, independent of the executor. The iproute2 executor reads it from ip's
 * message, FakeKernel states it directly; both then build the same coded error from it.
 */
export type KernelFailureReason =
  | 'exists' // a link / address / route with that identity is already there
  | 'link-missing' // a device the step names does not exist
  | 'netns-missing'
  | 'unsupported' // the kernel lacks the link kind or the operation
  | 'permission'
  | 'entry-missing' // the address or route to delete is not there
  | 'unreachable' // a gateway with no route to it, or a device that is down
  | 'bridge-full' // the bridge already has the most ports a Linux bridge can hold (1024)
  | 'other';

/** True when a delete marked ifExists failed only because its object was already gone: that is success. */
export function toleratesAbsence(step: KernelStep, reason: KernelFailureReason): boolean {
  const op = step.op;
  if (op.op === 'link.del' || op.op === 'link.set') return op.ifExists === true && reason === 'link-missing';
  // An empty group is what a group delete wants (the kernel answers ENODEV).
  if (op.op === 'group.del') return reason === 'link-missing';
  // A link that is gone took its addresses along.
  if (op.op === 'addr.del') return op.ifExists === true && (reason === 'entry-missing' || reason === 'link-missing');
  if (op.op === 'route.del') return op.ifExists === true && reason === 'entry-missing';
  return false;
}

/** Failures an undo step may meet when its effect is already gone (link, namespace or entry missing): the undo has nothing left to do. */
export function meansAlreadyUndone(reason: KernelFailureReason): boolean {
  return reason === 'link-missing' || reason === 'netns-missing' || reason === 'entry-missing';
}

/** Reads the reason out of iproute2's (or nsenter's) message for a failed step. */
export function classifyIpMessage(step: KernelStep, message: string): KernelFailureReason {
  const m = message;
  if (/Cannot open network namespace|Invalid "netns" value|nsenter: cannot open|No such file or directory.*netns/i.test(m)) return 'netns-missing';
  if (/Operation not permitted|Permission denied/i.test(m)) return 'permission';
  if (/Cannot find device|Device does not exist|Device "[^"]*" does not exist|No such device/i.test(m)) return 'link-missing';
  if (/Unknown device type/i.test(m)) return 'unsupported';
  if (/Operation not supported/i.test(m)) return step.op.op === 'link.add' ? 'unsupported' : 'other';
  // A vxlan link whose VNI and port another one of the namespace already has: EEXIST, with the kernel's own sentence.
  if (/File exists|already assigned|VXLAN device with the specified VNI already exists/i.test(m)) return 'exists';
  if ((step.op.op === 'addr.del' || step.op.op === 'route.del') && /No such process|Address not found|address not found|Cannot assign requested address/i.test(m)) return 'entry-missing';
  if (/Nexthop has invalid gateway|No route to host|Network is unreachable|is not up/i.test(m)) return 'unreachable';
  if (step.op.op === 'link.set' && step.op.master !== undefined && /Exchange full/i.test(m)) return 'bridge-full';
  return 'other';
}

/** The most ports a Linux bridge takes: port numbers 1-1023 (BR_MAX_PORTS is 1024, port 0 is reserved); one more is refused with EXFULL, "Exchange full". */
export const BRIDGE_MAX_PORTS = 1023;

const PERMISSION_HINT = 'Run as root or with CAP_NET_ADMIN; to try it privately, run inside `unshare -rn`.';

function codeAndHint(step: KernelStep, reason: KernelFailureReason): { code: ErrorCode; hint: string } {
  const op = step.op;
  switch (reason) {
    case 'exists':
      if (op.op === 'link.add' && op.kind === 'vxlan') {
        return { code: 'SWY_ERR_LINK_EXISTS', hint: 'Pick another link name; or another VNI or UDP port, when another vxlan link of the namespace has these (`ip -d link show type vxlan`).' };
      }
      if (op.op === 'link.add' || (op.op === 'link.set' && (op.newName !== undefined || op.netns !== undefined))) {
        return { code: 'SWY_ERR_LINK_EXISTS', hint: 'Pick another link name, or delete the stale link (`ip link del NAME` in that namespace).' };
      }
      return { code: 'SWY_ERR_KERNEL_OP_FAILED', hint: 'The address or route is already there; remove it first or leave it out of the plan.' };
    case 'link-missing':
      return { code: 'SWY_ERR_LINK_NOT_FOUND', hint: 'Check the name with `ip link show` in that namespace; the link may have been deleted, renamed or moved.' };
    case 'netns-missing':
      return { code: 'SWY_ERR_NETNS_NOT_FOUND', hint: 'Create the namespace first (or check the path); it may have been deleted.' };
    case 'unsupported':
      if (op.op === 'link.add') {
        return { code: 'SWY_ERR_KERNEL_FEATURE_MISSING', hint: `This kernel cannot create ${op.kind} links (built without them, or the module is not loaded); choose a driver whose link kind it supports.` };
      }
      return { code: 'SWY_ERR_KERNEL_OP_FAILED', hint: 'The kernel refused this operation for that kind of link.' };
    case 'permission':
      return { code: 'SWY_ERR_PERMISSION_DENIED', hint: PERMISSION_HINT };
    case 'bridge-full':
      return {
        code: 'SWY_ERR_BRIDGE_FULL',
        hint: `A Linux bridge holds at most ${BRIDGE_MAX_PORTS} ports, one per endpoint (and any other link attached to it): spread the sandboxes over several networks, each with its own bridge, or use macvlan or ipvlan, which have no such limit.`,
      };
    default:
      return { code: 'SWY_ERR_KERNEL_OP_FAILED', hint: 'Read the kernel message above; the steps that had already run were undone.' };
  }
}

/** What else {@link kernelStepError} should report about a failed step; every field is optional. */
export interface StepFailureFacts {
  /** 0-based index of the failed step in the applied list, named in `details`. */
  readonly stepIndex?: number;
  /** Messages of undo steps that failed while rolling back. */
  readonly rollbackFailures?: readonly string[];
  /** The underlying error, kept as the SwitchyardError's `cause`. */
  readonly cause?: unknown;
}

/** The error a failed step surfaces as: a sentence naming the step and the kernel's words, with a code and hint. */
export function kernelStepError(step: KernelStep, reason: KernelFailureReason, kernelMessage: string, facts: StepFailureFacts = {}): SwitchyardError {
  const { code, hint } = codeAndHint(step, reason);
  const rollback = facts.rollbackFailures?.length ? ` (rollback incomplete: ${facts.rollbackFailures.length} undo step(s) failed)` : '';
  return new SwitchyardError(code, `Could not ${describeStep(step)}: ${kernelMessage.trim() || 'the kernel gave no reason'}${rollback}`, {
    hint,
    cause: facts.cause,
    details: { reason, step, stepIndex: facts.stepIndex, kernelMessage: kernelMessage.trim(), rollbackFailures: facts.rollbackFailures },
  });
}

export const TOOL_HINT = 'Install iproute2 (`ip`) and util-linux (`nsenter`, `unshare`), or point the executor at them with its options.';
export { PERMISSION_HINT };

const PERMISSION_TEXT = /not permitted|Permission denied/i;

/** A failed namespace create, from the text the tool or syscall gave (`File exists` means the name is taken). */
export function netnsCreateError(name: string, message: string, cause?: unknown): SwitchyardError {
  const text = message.trim();
  const extra = { details: { name }, ...(cause === undefined ? {} : { cause }) };
  if (/File exists/.test(text)) {
    return new SwitchyardError('SWY_ERR_SANDBOX_EXISTS', `Network namespace "${name}" already exists`, { hint: 'Use another name, or delete the stale one with `ip netns del NAME`.', ...extra });
  }
  if (PERMISSION_TEXT.test(text)) return new SwitchyardError('SWY_ERR_PERMISSION_DENIED', `Could not create network namespace "${name}": ${text}`, { hint: PERMISSION_HINT, ...extra });
  return new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `Could not create network namespace "${name}": ${text}`, { hint: 'Check that /run/netns is writable.', ...extra });
}

/** A failed namespace delete, from the text the tool or syscall gave. */
export function netnsDeleteError(name: string, message: string, cause?: unknown): SwitchyardError {
  const text = message.trim();
  const permission = PERMISSION_TEXT.test(text);
  return new SwitchyardError(permission ? 'SWY_ERR_PERMISSION_DENIED' : 'SWY_ERR_KERNEL_OP_FAILED', `Could not delete network namespace "${name}": ${text}`, {
    hint: permission ? PERMISSION_HINT : 'Check for processes holding it with `ip netns pids NAME`.',
    details: { name },
    ...(cause === undefined ? {} : { cause }),
  });
}
