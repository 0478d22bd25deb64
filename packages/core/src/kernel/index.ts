// The Kernel port's implementations and the pieces every executor shares: validation, undo, errors.
export { IproutesExecutor, IPROUTES_EXECUTOR_OPTIONS, type IproutesExecutorOptions } from './iproute2-executor.js';
export * from './names.js';
export { normalizeOp, normalizeSteps } from './normalize-step.js';
export { undoOf, undoPlan, type AppliedStep, type LinkState } from './undo.js';
export { describeNs, describeOp, describeStep, nsKey, sameNs } from './describe-step.js';
export { kernelStepError, classifyIpMessage, meansAlreadyUndone, toleratesAbsence, type KernelFailureReason, type StepFailureFacts } from './kernel-errors.js';
export { toBatchArgs, toBatchLine, netnsPath, sysctlProcPath, type CommandContext } from './iproute2-commands.js';
export { readBatchOutcome, type BatchOutcome, type BatchLineFailure } from './ip-batch.js';
export { execaRunner, spawnRunner, type ProcessRunner, type ProcessResult } from './process-runner.js';
export { NetlinkExecutor, NETLINK_EXECUTOR_OPTIONS, type NetlinkExecutorOptions } from './netlink/netlink-executor.js';
