import { SwitchyardError } from '../errors/switchyard-error.js';
import type { KernelStep, NetnsRef } from '../spi/kernel.js';
import { TOOL_HINT } from './kernel-errors.js';
import { ipIn, toBatchArgs, type CommandContext, type ToolPaths } from './iproute2-commands.js';
import type { ProcessRunner, ProcessResult } from './process-runner.js';
import { parseLinkState } from './ip-json.js';
import { linkStateNeededBy, type LinkState } from './undo.js';

/** One line of a batch that did not complete, with the messages ip printed for it. */
export interface BatchLineFailure {
  /** 0-based index into the lines sent. */
  readonly index: number;
  /** What ip printed about the line (its error messages, joined). */
  readonly message: string;
}

/** What happened to an `ip -batch` run, read from its exit code and stderr. */
export interface BatchOutcome {
  /** The lines that failed, in order. */
  readonly failures: readonly BatchLineFailure[];
  /** Set when ip exited before reading every line: lines from this index on never ran. */
  readonly abortedAt?: number;
}

/**
 * Reads what happened to a batch from ip's exit code and stderr. `ip -batch` prints
 * "Command failed -:N" after the messages of a failing line N; but an argument it cannot resolve
 * (a missing `master` or `netns`) makes it exit at once without that line. Then the failing line is
 * taken as the first one naming the rejected value: never later than the real one, so an undo never
 * touches something that was not created.
 */
export function readBatchOutcome(lines: readonly (readonly string[])[], result: ProcessResult): BatchOutcome {
  if (result.exitCode === 0) return { failures: [] };
  const failures: BatchLineFailure[] = [];
  let pending: string[] = [];
  for (const raw of result.stderr.split('\n')) {
    const line = raw.trimEnd();
    const failed = /^Command failed .*:(\d+)$/.exec(line);
    if (failed) {
      failures.push({ index: Number(failed[1]) - 1, message: pending.join('\n') });
      pending = [];
    } else if (line !== '') {
      pending.push(line);
    }
  }
  const message = pending.join('\n');
  const last = failures.at(-1);
  if (last && message === '') return { failures };
  // ip stopped without naming a line: an argument error, or it never got to the batch at all.
  const from = last ? last.index + 1 : 0;
  const rejected = /argument "([^"]*)" is wrong/.exec(message)?.[1];
  let index = from;
  if (rejected !== undefined) {
    const asArgument = (argv: readonly string[]): boolean => argv.some((t, j) => t === rejected && ['master', 'netns', 'link'].includes(argv[j - 1] ?? ''));
    let found = lines.findIndex((argv, i) => i >= from && asArgument(argv));
    if (found < 0) found = lines.findIndex((argv, i) => i >= from && argv.includes(rejected));
    if (found >= 0) index = found;
  }
  return { failures: [...failures, { index, message: message || `ip exited with status ${result.exitCode}` }], abortedAt: index + 1 };
}

export interface BatchRunnerDeps {
  readonly run: ProcessRunner;
  readonly tools: ToolPaths;
  readonly ctx: CommandContext;
}

/** Starts a program, turning "not installed" into SWY_ERR_TOOL_MISSING. */
export async function runTool(deps: Pick<BatchRunnerDeps, 'run'>, file: string, args: readonly string[], input?: string): Promise<ProcessResult> {
  try {
    return await deps.run(file, args, input);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') {
      throw new SwitchyardError('SWY_ERR_TOOL_MISSING', `Could not run "${file}": it is not installed or not executable`, { hint: TOOL_HINT, cause, details: { file } });
    }
    throw new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `Could not start "${file}": ${(cause as Error).message}`, { hint: 'Check the executor tool paths and the process limits.', cause, details: { file } });
  }
}

export interface BatchRun {
  /** Failures by step index (0-based into the steps given). */
  readonly failures: readonly BatchLineFailure[];
  /** Set when ip stopped early: steps from this index on never ran. */
  readonly abortedAt?: number;
  /** Per step, the link's state just before it ran (link.set and bridge.port, when recorded). */
  readonly before: ReadonlyArray<LinkState | undefined>;
}

/**
 * Runs ip-command steps that share a namespace as one `ip -batch -` process. `force` keeps going
 * past failures (for undo); `recordBefore` adds a `link show` line before each step that changes
 * link attributes, so its undo can restore them exactly, at no extra process.
 */
export async function runBatch(deps: BatchRunnerDeps, ns: NetnsRef, steps: readonly KernelStep[], options: { force: boolean; recordBefore?: boolean }): Promise<BatchRun> {
  const lines: string[][] = [];
  const owner: Array<{ step: number; show: boolean }> = [];
  steps.forEach((s, i) => {
    if (s.op.op === 'sysctl.set') throw new TypeError('sysctl steps do not go into an ip batch');
    const link = options.recordBefore ? linkStateNeededBy(s) : undefined;
    if (link !== undefined) {
      lines.push(['link', 'show', 'dev', link]);
      owner.push({ step: i, show: true });
    }
    lines.push(toBatchArgs(s.op, deps.ctx));
    owner.push({ step: i, show: false });
  });
  const global = [...(options.recordBefore ? ['-d', '-json'] : []), ...(options.force ? ['-force'] : []), '-batch', '-'];
  const inv = ipIn(ns, global, deps.tools);
  const result = await runTool(deps, inv.file, inv.args, lines.map((l) => `${l.join(' ')}\n`).join(''));
  const outcome = readBatchOutcome(lines, result);
  const failures = outcome.failures.map((f) => ({ index: owner[f.index]?.step ?? f.index, message: f.message }));
  const before: Array<LinkState | undefined> = steps.map(() => undefined);
  if (options.recordBefore) {
    // Only `link show` prints in -json mode: the k-th JSON line belongs to the k-th show line that ran.
    const printed = result.stdout.split('\n').filter((l) => l.startsWith('['));
    const firstFailed = outcome.failures[0]?.index ?? lines.length;
    const shows = owner.filter((o, li) => o.show && li < firstFailed);
    if (printed.length === shows.length) shows.forEach((o, k) => (before[o.step] = parseLinkState(printed[k] as string)));
  }
  const abortedLine = outcome.abortedAt;
  const abortedAt = abortedLine === undefined ? undefined : (owner[abortedLine - 1]?.step ?? 0) + 1;
  return abortedAt === undefined ? { failures, before } : { failures, abortedAt, before };
}
