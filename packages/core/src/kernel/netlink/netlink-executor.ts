import { readFileSync, writeFileSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { inject, injectable } from '../../di/decorators.js';
import { SwitchyardError, isSwitchyardError, runAllCleanups } from '../../errors/switchyard-error.js';
import type { AddrInfo, AppliedPlan, Kernel, KernelFeature, KernelStep, LinkInfo, NetnsRef, RouteInfo } from '../../spi/kernel.js';
import { describeNs } from '../describe-step.js';
import { DEFAULT_NETNS_DIR, sysctlProcPath } from '../iproute2-commands.js';
import { IproutesExecutor, type IproutesExecutorOptions } from '../iproute2-executor.js';
import { kernelStepError, meansAlreadyUndone, netnsCreateError, netnsDeleteError, toleratesAbsence, PERMISSION_HINT, type KernelFailureReason } from '../kernel-errors.js';
import { normalizeSteps } from '../normalize-step.js';
import { assertNetnsName } from '../names.js';
import { createNetnsFile, isSharedMountPoint } from '../netns-files.js';
import { linkStateNeededBy, undoPlan, type AppliedStep, type LinkState } from '../undo.js';
import { readU32 } from './attributes.js';
import { Errno, IFLA_MASTER } from './constants.js';
import { DUMP_ADDRS, DUMP_LINKS, DUMP_ROUTES, encodeOp, getLinkByIndex, getLinkByName, linksToResolve, type NetlinkOp, type Resolved } from './encode-op.js';
import { classifyErrno } from './errno-reasons.js';
import { libc, type Libc } from './libc.js';
import { addrInfos, decodeLinkMessage, linkInfos, linkStateOf, routeInfos, type LinkMessage } from './listings.js';
import { NamespaceMissing, NamespaceSockets } from './namespace-sockets.js';
import { NetlinkError, type RouteSocket } from './route-socket.js';

/** Settings of the {@link NetlinkExecutor}; every one has a default. */
export interface NetlinkExecutorOptions {
  /** Options for the iproute2 executor that creates and deletes namespaces and probes features. */
  iproute2?: IproutesExecutorOptions;
  /** Root of the sysctl tree for the host namespace (tests point it elsewhere); default /proc/sys. */
  procSysDir?: string;
  /** Directory of named namespaces; default /run/netns, as iproute2. */
  netnsDir?: string;
  /**
   * The libc calls; default the process's own through koffi. A seam for the executor's own unit tests.
   *
   * @internal
   */
  libc?: Libc;
}

/** DI token for the executor's options; optional, the defaults suit a root process. */
export const NETLINK_EXECUTOR_OPTIONS = Symbol.for('switchyard.NetlinkExecutorOptions');

// A step the kernel (or /proc/sys) refused, with the reason; turned into the coded error after rollback.
class StepFailed extends Error {
  constructor(
    readonly step: KernelStep,
    readonly stepIndex: number,
    readonly reason: KernelFailureReason,
    readonly kernelMessage: string,
    override readonly cause: unknown,
  ) {
    super(kernelMessage);
  }
}

// One step refused by the kernel or /proc/sys, with the reason read from its errno.
class Refused extends Error {
  constructor(
    readonly reason: KernelFailureReason,
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The Kernel port spoken directly to the kernel over rtnetlink (no process spawned): each step is
 * one netlink request, plus an RTM_GETLINK per link name it refers to. Every request is the one
 * iproute2 sends for the same `ip` command, so results, undo and error codes match IproutesExecutor,
 * which stays the readable reference. `apply` runs synchronously from start to end (a typical attach
 * is about a millisecond), so two calls never interleave on the shared sockets. Namespace creation,
 * deletion and feature probes, which are not on the hot path, are delegated to IproutesExecutor.
 */
@injectable()
export class NetlinkExecutor implements Kernel {
  private readonly iproute2: IproutesExecutor;
  private readonly procSysDir: string;
  private readonly netnsDir: string;
  private netnsDirShared = false;
  private readonly libcOverride: Libc | undefined;
  private socketsCache: NamespaceSockets | undefined;

  constructor(@inject(NETLINK_EXECUTOR_OPTIONS, { isOptional: true }) options: NetlinkExecutorOptions = {}) {
    this.iproute2 = new IproutesExecutor(options.iproute2 ?? {});
    this.procSysDir = options.procSysDir ?? '/proc/sys';
    this.netnsDir = options.netnsDir ?? DEFAULT_NETNS_DIR;
    this.libcOverride = options.libc;
  }

  // koffi is loaded on first use, so constructing the executor (e.g. by DI) costs nothing.
  private get sockets(): NamespaceSockets {
    this.socketsCache ??= new NamespaceSockets(this.libcOverride ?? libc(), this.netnsDir);
    return this.socketsCache;
  }

  async apply(steps: readonly KernelStep[]): Promise<AppliedPlan> {
    const plan = normalizeSteps(steps);
    try {
      return { steps: this.applyNow(plan) };
    } finally {
      this.sockets.releaseNamespaces();
    }
  }

  private applyNow(plan: readonly KernelStep[]): AppliedStep[] {
    this.assertNamespacesExist(plan);
    const done: AppliedStep[] = [];
    try {
      plan.forEach((step, i) => {
        try {
          done.push(this.run(step, true));
        } catch (e) {
          const { reason, message } = this.failureOf(e);
          if (toleratesAbsence(step, reason)) {
            done.push(step); // already gone is what an ifExists delete wants
            return;
          }
          throw new StepFailed(step, i, reason, message, e);
        }
      });
    } catch (e) {
      const rollbackFailures = this.undo(undoPlan(done)).map((f) => f.message);
      if (e instanceof StepFailed) throw kernelStepError(e.step, e.reason, e.kernelMessage, { stepIndex: e.stepIndex, rollbackFailures, cause: e.cause });
      if (isSwitchyardError(e) && rollbackFailures.length) {
        throw new SwitchyardError(e.code, `${e.message} (rollback incomplete: ${rollbackFailures.length} undo step(s) failed)`, { hint: e.hint, cause: e, details: { ...e.details, rollbackFailures } });
      }
      throw e;
    }
    return done;
  }

  async revert(applied: AppliedPlan): Promise<void> {
    let failures: SwitchyardError[];
    try {
      failures = this.undo(undoPlan(applied.steps));
    } finally {
      this.sockets.releaseNamespaces();
    }
    await runAllCleanups(
      'Reverting a kernel plan',
      failures.map((f) => () => Promise.reject(f)),
    );
  }

  /** Runs undo steps, keeping on past failures; an effect that is already gone counts as undone. */
  private undo(steps: readonly KernelStep[]): SwitchyardError[] {
    const failures: SwitchyardError[] = [];
    for (const step of steps) {
      // A namespace that is gone took every object inside it along: nothing left to undo there.
      if (!this.sockets.exists(step.ns)) continue;
      try {
        this.run(step, false);
      } catch (e) {
        try {
          const { reason, message } = this.failureOf(e);
          if (!meansAlreadyUndone(reason)) failures.push(kernelStepError(step, reason, message, { cause: e }));
        } catch (unexpected) {
          failures.push(
            isSwitchyardError(unexpected)
              ? unexpected
              : new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', String(unexpected), { cause: unexpected, hint: 'An undo step failed unexpectedly; check the objects named in the plan and remove what is left by name.' }),
          );
        }
      }
    }
    return failures;
  }

  /** The reason and kernel message of a failed step; anything else (a bug) is rethrown. */
  private failureOf(e: unknown): { reason: KernelFailureReason; message: string } {
    if (e instanceof Refused) return { reason: e.reason, message: e.message };
    if (e instanceof NamespaceMissing) return { reason: 'netns-missing', message: `${describeNs(e.ref)} does not exist` };
    throw e;
  }

  private assertNamespacesExist(plan: readonly KernelStep[]): void {
    for (const [index, step] of plan.entries()) {
      const op = step.op;
      const refs: NetnsRef[] = [step.ns];
      if ((op.op === 'link.add' || op.op === 'link.set') && op.netns) refs.push(op.netns);
      if (op.op === 'link.add' && op.kind === 'veth' && op.peer.netns) refs.push(op.peer.netns);
      for (const ref of refs) {
        try {
          this.sockets.fd(ref);
        } catch (e) {
          if (e instanceof NamespaceMissing) throw kernelStepError(step, 'netns-missing', `${describeNs(ref)} does not exist`, { stepIndex: index });
          throw e;
        }
      }
    }
  }

  /** Runs one step; with `record`, returns it with the state its undo needs (previous sysctl value, link state before). */
  private run(step: KernelStep, record: boolean): AppliedStep {
    const op = step.op;
    if (op.op === 'sysctl.set') {
      const previous = this.setSysctl(step.ns, op.key, op.value, op.missingOk === true);
      return previous === undefined ? step : { ...step, previous };
    }
    try {
      return this.runNetlink(step, op, record);
    } catch (e) {
      if (e instanceof NetlinkError) throw new Refused(classifyErrno(step, e.errno, e.extack), e.message, { cause: e });
      throw e;
    }
  }

  private runNetlink(step: KernelStep, op: NetlinkOp, record: boolean): AppliedStep {
    const socket = this.sockets.socket(step.ns);
    const names = linksToResolve(op);
    const resolved: { -readonly [K in keyof Resolved]: Resolved[K] } = {};
    let before: LinkState | undefined;
    if (names.index !== undefined) {
      const link = getLink(socket, names.index);
      resolved.index = link.header.index;
      if (record && linkStateNeededBy(step) !== undefined) before = linkStateOf(link, masterName(socket, link));
    }
    if (names.master !== undefined) resolved.masterIndex = getLink(socket, names.master).header.index;
    if (names.parent !== undefined) resolved.parentIndex = getLink(socket, names.parent).header.index;
    if (names.dev !== undefined) resolved.devIndex = getLink(socket, names.dev).header.index;
    if ((op.op === 'link.add' || op.op === 'link.set') && op.netns !== undefined) resolved.netnsFd = this.sockets.fd(op.netns);
    if (op.op === 'link.add' && op.kind === 'veth' && op.peer.netns !== undefined) resolved.peerNetnsFd = this.sockets.fd(op.peer.netns);
    socket.request(encodeOp(op, resolved));
    return before ? { ...step, before } : step;
  }

  /** Writes a sysctl inside the namespace (entered with setns, synchronously) and returns the value it replaced. */
  private setSysctl(ns: NetnsRef, key: string, value: string, missingOk: boolean): string | undefined {
    const file = ns.kind === 'host' ? `${this.procSysDir}/${sysctlProcPath(key).slice('/proc/sys/'.length)}` : sysctlProcPath(key);
    try {
      return this.sockets.inside(ns, () => {
        const previous = readFileSync(file, 'utf8').replace(/\n$/, '');
        writeFileSync(file, value);
        return previous;
      });
    } catch (cause) {
      if (cause instanceof NamespaceMissing) throw cause;
      if (cause instanceof NetlinkError) throw new Refused(cause.errno === Errno.EPERM ? 'permission' : 'other', cause.message, { cause });
      const code = (cause as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        if (missingOk) return undefined;
        throw new Refused('other', `this kernel has no sysctl ${key}`);
      }
      throw new Refused(code === 'EACCES' || code === 'EPERM' ? 'permission' : 'other', (cause as Error).message, { cause });
    }
  }

  private read<T>(ns: NetnsRef, what: string, list: (socket: RouteSocket) => T): T {
    try {
      return list(this.sockets.socket(ns));
    } catch (e) {
      if (e instanceof NamespaceMissing) {
        throw new SwitchyardError('SWY_ERR_NETNS_NOT_FOUND', `Could not list ${what} in ${describeNs(ns)}: it does not exist`, { hint: 'Create the namespace first, or check its name or path.', details: { ns } });
      }
      if (e instanceof NetlinkError && (e.errno === Errno.EPERM || e.errno === Errno.EACCES)) {
        throw new SwitchyardError('SWY_ERR_PERMISSION_DENIED', `Could not list ${what} in ${describeNs(ns)}: ${e.message}`, { hint: PERMISSION_HINT, cause: e });
      }
      if (e instanceof NetlinkError) {
        throw new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `Could not list ${what} in ${describeNs(ns)}: ${e.message}`, { hint: 'Compare with `ip -json link/addr/route show` in that namespace.', cause: e });
      }
      throw e;
    } finally {
      this.sockets.releaseNamespaces();
    }
  }

  async listLinks(ns: NetnsRef): Promise<LinkInfo[]> {
    return this.read(ns, 'links', (s) => linkInfos(dumpLinks(s)));
  }

  async listAddrs(ns: NetnsRef): Promise<AddrInfo[]> {
    return this.read(ns, 'addresses', (s) => addrInfos(s.dump(DUMP_ADDRS), dumpLinks(s)));
  }

  async listRoutes(ns: NetnsRef): Promise<RouteInfo[]> {
    return this.read(ns, 'routes', (s) => routeInfos(s.dump(DUMP_ROUTES), dumpLinks(s)));
  }

  /**
   * Creates a named namespace in this process (unshare, bind mount, return: no `ip` spawned) with its
   * loopback up. Until the namespace directory is a shared mount point, `ip netns add` makes it one
   * (the iproute2 executor's path), so namespaces show in every mount namespace as iproute2's do.
   */
  async createNetns(name: string): Promise<NetnsRef> {
    assertNetnsName(name);
    this.netnsDirShared ||= await isSharedMountPoint(this.netnsDir);
    if (!this.netnsDirShared) return this.iproute2.createNetns(name);
    const ref: NetnsRef = { kind: 'named', name };
    const path = `${this.netnsDir}/${name}`;
    await createNetnsFile(path, name);
    try {
      try {
        this.sockets.createAt(path);
      } catch (cause) {
        throw netnsCreateError(name, cause instanceof Error ? cause.message : String(cause), cause);
      }
      await this.apply([{ ns: ref, op: { op: 'link.set', name: 'lo', up: true } }]);
    } catch (error) {
      await this.deleteNetns(name).catch(() => undefined);
      throw error;
    }
    return ref;
  }

  /** Unbinds and removes a named namespace's file, as `ip netns del` does, in this process; a missing one is fine. */
  async deleteNetns(name: string): Promise<void> {
    assertNetnsName(name);
    // No socket outlives a call (see NamespaceSockets), so none can keep the deleted namespace alive.
    const path = `${this.netnsDir}/${name}`;
    const failed = this.sockets.unmount(path);
    if (failed === undefined) {
      try {
        await unlink(path);
        return;
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw netnsDeleteError(name, (cause as Error).message, cause);
      }
    }
    throw netnsDeleteError(name, this.sockets.describeErrno(failed));
  }

  netnsExists(ns: NetnsRef): Promise<boolean> {
    return this.iproute2.netnsExists(ns);
  }

  probe(feature: KernelFeature): Promise<boolean> {
    return this.iproute2.probe(feature);
  }

  /** Closes the netlink sockets; a later call opens them again. */
  close(): void {
    this.socketsCache?.close();
  }
}

function getLink(socket: RouteSocket, name: string): LinkMessage {
  const missing = (): NetlinkError => new NetlinkError(Errno.ENODEV, undefined, `Cannot find device "${name}"`);
  try {
    const reply = socket.request(getLinkByName(name))[0];
    if (!reply) throw missing();
    return decodeLinkMessage(reply);
  } catch (e) {
    throw e instanceof NetlinkError && e.errno === Errno.ENODEV ? missing() : e;
  }
}

function masterName(socket: RouteSocket, link: LinkMessage): string | undefined {
  const master = readU32(link.attrs, IFLA_MASTER);
  if (!master) return undefined;
  const reply = socket.request(getLinkByIndex(master))[0];
  return reply ? decodeLinkMessage(reply).name : undefined;
}

function dumpLinks(socket: RouteSocket): LinkMessage[] {
  return socket.dump(DUMP_LINKS).map(decodeLinkMessage);
}
