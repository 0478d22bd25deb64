import { readFile, writeFile } from 'node:fs/promises';
import { inject, injectable } from '../di/decorators.js';
import { SwitchyardError, isSwitchyardError, runAllCleanups } from '../errors/switchyard-error.js';
import type { AddrInfo, AppliedPlan, Kernel, KernelFeature, KernelStep, LinkInfo, NetnsRef, RouteInfo } from '../spi/kernel.js';
import { describeNs, sameNs } from './describe-step.js';
import { runBatch, runTool, type BatchRunnerDeps } from './ip-batch.js';
import { parseAddrs, parseLinks, parseRoutes } from './ip-json.js';
import { DEFAULT_NETNS_DIR, ipIn, netnsPath, sysctlProcPath, type CommandContext, type ToolPaths } from './iproute2-commands.js';
import { classifyIpMessage, kernelStepError, meansAlreadyUndone, netnsCreateError, netnsDeleteError, toleratesAbsence, PERMISSION_HINT, type KernelFailureReason } from './kernel-errors.js';
import { probeLinkKinds, probeNftables, type LinkKindFeature } from './kernel-probe.js';
import { assertNetnsName } from './names.js';
import { createNetnsFile, isSharedMountPoint, namespaceExists } from './netns-files.js';
import { normalizeSteps } from './normalize-step.js';
import { spawnRunner, type ProcessRunner } from './process-runner.js';
import { undoPlan, type AppliedStep } from './undo.js';

/** Settings of the {@link IproutesExecutor}; every one has a default. */
export interface IproutesExecutorOptions {
  /** Program paths; defaults are looked up on PATH. */
  ip?: string;
  /** Path of `nsenter` (runs programs inside path namespaces). */
  nsenter?: string;
  /** Path of `unshare` (creates a named namespace and brings its `lo` up in one spawn). */
  unshare?: string;
  /** Path of `sysctl`. */
  sysctl?: string;
  /** Path of `nft` (the nftables probe). */
  nft?: string;
  /** Root of the sysctl tree for the host namespace (tests point it elsewhere). */
  procSysDir?: string;
  /** Path that names Switchyard's own namespace from inside others; default /proc/<pid>/ns/net. */
  hostNetnsPath?: string;
  /** How programs are started; default node's spawn (spawnRunner), never a shell. */
  run?: ProcessRunner;
}

/** DI token for the executor's options; optional, the defaults suit a root process with iproute2 on PATH. */
export const IPROUTES_EXECUTOR_OPTIONS = Symbol.for('switchyard.IproutesExecutorOptions');

// A step that failed while applying; turned into the user-facing error after rollback.
class StepFailed extends Error {
  constructor(
    readonly step: KernelStep,
    readonly stepIndex: number,
    readonly reason: KernelFailureReason,
    readonly kernelMessage: string,
  ) {
    super(kernelMessage);
  }
}

/**
 * The Kernel port on top of iproute2. Consecutive steps for one namespace become one `ip -batch -`
 * process (`ip -n NAME` for named namespaces, `nsenter --net=PATH ip` for paths), so a typical
 * attach costs two spawns; a failed line is located from ip's "Command failed -:N" and exactly the
 * steps that ran are undone.
 */
@injectable()
export class IproutesExecutor implements Kernel {
  private readonly deps: BatchRunnerDeps & { nft: string };
  private readonly tools: ToolPaths & { unshare: string; sysctl: string; nft: string };
  private readonly procSysDir: string;
  private readonly ctx: CommandContext;
  private linkKinds?: Promise<Record<LinkKindFeature, boolean>>;
  private nftables?: Promise<boolean>;
  private netnsDirReady = false;

  constructor(@inject(IPROUTES_EXECUTOR_OPTIONS, { isOptional: true }) options: IproutesExecutorOptions = {}) {
    this.tools = {
      ip: options.ip ?? 'ip',
      nsenter: options.nsenter ?? 'nsenter',
      unshare: options.unshare ?? 'unshare',
      sysctl: options.sysctl ?? 'sysctl',
      nft: options.nft ?? 'nft',
    };
    this.ctx = { netnsDir: DEFAULT_NETNS_DIR, hostNetnsPath: options.hostNetnsPath ?? `/proc/${process.pid}/ns/net` };
    this.procSysDir = options.procSysDir ?? '/proc/sys';
    this.deps = { run: options.run ?? spawnRunner, tools: this.tools, ctx: this.ctx, nft: this.tools.nft };
  }

  async apply(steps: readonly KernelStep[]): Promise<AppliedPlan> {
    const plan = normalizeSteps(steps);
    await this.assertNamespacesExist(plan);
    const done: AppliedStep[] = [];
    try {
      let i = 0;
      while (i < plan.length) {
        const first = plan[i] as KernelStep;
        if (first.op.op === 'sysctl.set') {
          done.push(await this.setSysctl(first, i));
          i += 1;
          continue;
        }
        let end = i + 1;
        while (end < plan.length && plan[end]?.op.op !== 'sysctl.set' && sameNs((plan[end] as KernelStep).ns, first.ns)) end += 1;
        const segment = plan.slice(i, end);
        const outcome = await runBatch(this.deps, first.ns, segment, { force: false, recordBefore: true });
        const ran = (upTo: number): AppliedStep[] => segment.slice(0, upTo).map((s, j) => (outcome.before[j] ? { ...s, before: outcome.before[j] } : s));
        const failure = outcome.failures[0];
        if (!failure) {
          done.push(...ran(segment.length));
          i = end;
          continue;
        }
        done.push(...ran(failure.index));
        const failed = segment[failure.index] as KernelStep;
        const reason = classifyIpMessage(failed, failure.message);
        if (toleratesAbsence(failed, reason)) {
          done.push(failed); // already gone is what an ifExists delete wants; go on with the rest in a new batch
          i += failure.index + 1;
          continue;
        }
        throw new StepFailed(failed, i + failure.index, reason, failure.message);
      }
    } catch (e) {
      const failures = await this.undo(undoPlan(done));
      const rollbackFailures = failures.map((f) => f.message);
      if (e instanceof StepFailed) throw kernelStepError(e.step, e.reason, e.kernelMessage, { stepIndex: e.stepIndex, rollbackFailures });
      if (isSwitchyardError(e) && rollbackFailures.length) {
        throw new SwitchyardError(e.code, `${e.message} (rollback incomplete: ${rollbackFailures.length} undo step(s) failed)`, { hint: e.hint, cause: e, details: { ...e.details, rollbackFailures } });
      }
      throw e;
    }
    return { steps: done };
  }

  async revert(applied: AppliedPlan): Promise<void> {
    const failures = await this.undo(undoPlan(applied.steps));
    await runAllCleanups(
      'Reverting a kernel plan',
      failures.map((f) => () => Promise.reject(f)),
    );
  }

  /** Runs undo steps, keeping on past failures; an effect that is already gone counts as undone. */
  private async undo(steps: readonly KernelStep[]): Promise<SwitchyardError[]> {
    const failures: SwitchyardError[] = [];
    let i = 0;
    while (i < steps.length) {
      const first = steps[i] as KernelStep;
      let end = i + 1;
      while (end < steps.length && sameNs((steps[end] as KernelStep).ns, first.ns) && (steps[end] as KernelStep).op.op !== 'sysctl.set' && first.op.op !== 'sysctl.set') end += 1;
      const segment = steps.slice(i, end);
      i = end;
      // A namespace that is gone took every object inside it along: nothing left to undo there.
      if (!(await namespaceExists(first.ns, this.ctx))) continue;
      try {
        if (first.op.op === 'sysctl.set') {
          await this.setSysctl(first, 0);
          continue;
        }
        let rest = segment;
        while (rest.length > 0) {
          const outcome = await runBatch(this.deps, first.ns, rest, { force: true });
          for (const f of outcome.failures) {
            const step = rest[f.index] as KernelStep;
            const reason = classifyIpMessage(step, f.message);
            if (!meansAlreadyUndone(reason)) failures.push(kernelStepError(step, reason, f.message));
          }
          rest = outcome.abortedAt === undefined ? [] : rest.slice(outcome.abortedAt);
        }
      } catch (e) {
        if (e instanceof StepFailed) {
          if (!meansAlreadyUndone(e.reason)) failures.push(kernelStepError(e.step, e.reason, e.kernelMessage));
        } else {
          failures.push(
            isSwitchyardError(e) ? e : new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', String(e), { cause: e, hint: 'An undo step failed unexpectedly; check the objects named in the plan and remove what is left by name.' }),
          );
        }
      }
    }
    return failures;
  }

  private async assertNamespacesExist(plan: readonly KernelStep[]): Promise<void> {
    const checked = new Set<string>();
    for (const [index, step] of plan.entries()) {
      const op = step.op;
      const refs: NetnsRef[] = [step.ns];
      if ((op.op === 'link.add' || op.op === 'link.set') && op.netns) refs.push(op.netns);
      if (op.op === 'link.add' && op.kind === 'veth' && op.peer.netns) refs.push(op.peer.netns);
      for (const ref of refs) {
        const key = netnsPath(ref, this.ctx);
        if (checked.has(key)) continue;
        if (!(await namespaceExists(ref, this.ctx))) throw kernelStepError(step, 'netns-missing', `${describeNs(ref)} does not exist`, { stepIndex: index });
        checked.add(key);
      }
    }
  }

  /** Sets a sysctl and returns the step with the value it replaced. Host: direct file access, no spawn. */
  private async setSysctl(step: KernelStep, stepIndex: number): Promise<AppliedStep> {
    if (step.op.op !== 'sysctl.set') throw new TypeError('not a sysctl step');
    const { key, value } = step.op;
    if (step.ns.kind === 'host') {
      const file = `${this.procSysDir}/${sysctlProcPath(key).slice('/proc/sys/'.length)}`;
      try {
        const previous = (await readFile(file, 'utf8')).replace(/\n$/, '');
        await writeFile(file, value);
        return { ...step, previous };
      } catch (cause) {
        const code = (cause as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && step.op.missingOk === true) return step;
        const reason: KernelFailureReason = code === 'EACCES' || code === 'EPERM' ? 'permission' : 'other';
        const message = code === 'ENOENT' ? `this kernel has no sysctl ${key}` : (cause as Error).message;
        throw new StepFailed(step, stepIndex, reason, message);
      }
    }
    const r = await runTool(this.deps, this.tools.nsenter, [`--net=${netnsPath(step.ns, this.ctx)}`, this.tools.sysctl, '-n', key, `${key}=${value}`]);
    if (r.exitCode !== 0) {
      const message = r.stderr.trim();
      if (step.op.missingOk === true && /cannot stat/.test(message)) return step;
      const reason: KernelFailureReason = /nsenter: cannot open/.test(message) ? 'netns-missing' : /Permission denied|not permitted/i.test(message) ? 'permission' : 'other';
      throw new StepFailed(step, stepIndex, reason, /cannot stat/.test(message) ? `this kernel has no sysctl ${key} (${message})` : message);
    }
    return { ...step, previous: r.stdout.split('\n')[0] ?? '' };
  }

  private async read(ns: NetnsRef, args: string[], what: string): Promise<string> {
    const inv = ipIn(ns, args, this.tools);
    const r = await runTool(this.deps, inv.file, inv.args);
    if (r.exitCode === 0) return r.stdout;
    const message = r.stderr.trim();
    if (/Cannot open network namespace|nsenter: cannot open/.test(message)) {
      throw new SwitchyardError('SWY_ERR_NETNS_NOT_FOUND', `Could not list ${what} in ${describeNs(ns)}: it does not exist`, { hint: 'Create the namespace first, or check its name or path.', details: { ns } });
    }
    if (/not permitted|Permission denied/i.test(message)) {
      throw new SwitchyardError('SWY_ERR_PERMISSION_DENIED', `Could not list ${what} in ${describeNs(ns)}: ${message}`, { hint: PERMISSION_HINT });
    }
    throw new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `Could not list ${what} in ${describeNs(ns)}: ${message}`, { hint: 'Run the same `ip -json` command by hand to see what fails.' });
  }

  async listLinks(ns: NetnsRef): Promise<LinkInfo[]> {
    return parseLinks(await this.read(ns, ['-d', '-json', 'link', 'show'], 'links'));
  }

  async listAddrs(ns: NetnsRef): Promise<AddrInfo[]> {
    return parseAddrs(await this.read(ns, ['-json', 'addr', 'show'], 'addresses'));
  }

  async listRoutes(ns: NetnsRef): Promise<RouteInfo[]> {
    // "table all" is the one listing that holds both families; parseRoutes keeps the main table.
    return parseRoutes(await this.read(ns, ['-json', 'route', 'show', 'table', 'all'], 'routes'));
  }

  async createNetns(name: string): Promise<NetnsRef> {
    assertNetnsName(name);
    const ref: NetnsRef = { kind: 'named', name };
    const path = netnsPath(ref, this.ctx);
    this.netnsDirReady ||= await isSharedMountPoint(this.ctx.netnsDir);
    if (!this.netnsDirReady) {
      // Until /run/netns is a shared mount, let `ip netns add` create the namespace: it also sets that up.
      const added = await runTool(this.deps, this.tools.ip, ['netns', 'add', name]);
      if (added.exitCode !== 0) throw netnsCreateError(name, added.stderr);
      const lo = await runTool(this.deps, this.tools.ip, ['-n', name, 'link', 'set', 'dev', 'lo', 'up']);
      if (lo.exitCode !== 0) {
        await this.deleteNetns(name);
        throw netnsCreateError(name, lo.stderr);
      }
      return ref;
    }
    // One spawn instead of two: unshare binds the new namespace onto the file and runs `ip link set lo up` in it.
    await createNetnsFile(path, name);
    const r = await runTool(this.deps, this.tools.unshare, [`--net=${path}`, this.tools.ip, 'link', 'set', 'dev', 'lo', 'up']).catch(async (e: unknown) => {
      await this.deleteNetns(name);
      throw e;
    });
    if (r.exitCode !== 0) {
      await this.deleteNetns(name);
      throw netnsCreateError(name, r.stderr);
    }
    return ref;
  }

  async deleteNetns(name: string): Promise<void> {
    assertNetnsName(name);
    const r = await runTool(this.deps, this.tools.ip, ['netns', 'del', name]);
    if (r.exitCode === 0 || /No such file or directory/.test(r.stderr)) return;
    throw netnsDeleteError(name, r.stderr);
  }

  async netnsExists(ns: NetnsRef): Promise<boolean> {
    return namespaceExists(ns, this.ctx);
  }

  async probe(feature: KernelFeature): Promise<boolean> {
    if (feature === 'nftables') {
      this.nftables ??= probeNftables(this.deps).catch((e: unknown) => {
        this.nftables = undefined; // a failed probe is not an answer; ask again next time
        throw e;
      });
      return this.nftables;
    }
    this.linkKinds ??= probeLinkKinds(this.deps).catch((e: unknown) => {
      this.linkKinds = undefined;
      throw e;
    });
    const kinds = await this.linkKinds;
    if (!(feature in kinds)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `${JSON.stringify(feature)} is not a kernel feature Switchyard can probe`, { hint: 'Use veth, bridge, macvlan, ipvlan, vlan, dummy, vxlan or nftables.' });
    }
    return kinds[feature];
  }
}
