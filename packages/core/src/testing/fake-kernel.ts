import { SwitchyardError, isSwitchyardError, runAllCleanups } from '../errors/switchyard-error.js';
import type { AddrInfo, AppliedPlan, Kernel, KernelFeature, KernelStep, LinkInfo, NetnsRef, RouteInfo } from '../spi/kernel.js';
import { HOST_NS } from '../spi/kernel.js';
import { describeNs, nsKey } from '../kernel/describe-step.js';
import { kernelStepError, meansAlreadyUndone, toleratesAbsence } from '../kernel/kernel-errors.js';
import { assertNetnsName, assertNetnsPath, assertNetnsRef } from '../kernel/names.js';
import { ModelFailure, NetstackModel } from '../kernel/netstack-model.js';
import { normalizeSteps } from '../kernel/normalize-step.js';
import { linkStateNeededBy, undoPlan, type AppliedStep } from '../kernel/undo.js';

/** Settings of a {@link FakeKernel}. */
export interface FakeKernelOptions {
  /** What this fake kernel can create; unspecified features are present, as on a stock distribution kernel. */
  features?: Partial<Record<KernelFeature, boolean>>;
}

/** A stock distribution kernel has every feature Switchyard probes; pass `features` to model one that lacks some (e.g. `{ ipvlan: false }`). */
const STOCK_KERNEL_FEATURES: Readonly<Record<KernelFeature, boolean>> = Object.freeze({
  veth: true,
  bridge: true,
  macvlan: true,
  ipvlan: true,
  vlan: true,
  dummy: true,
  vxlan: true,
  nftables: true,
});

/** Chooses the step to fail in {@link FakeKernel.failAt}: the step and its 0-based index within its `apply` call. */
export type FailurePredicate = (step: KernelStep, index: number) => boolean;

/**
 * An in-memory Kernel for unit tests: models namespaces, links, addresses and routes, fails the
 * way the real kernel does for the errors that matter, and rolls back with the same undo rules as
 * the iproute2 executor. `history` lists every step applied; `failAt` injects one failure.
 */
export class FakeKernel implements Kernel {
  /** Every step `apply` ran successfully, in order (undo steps are in `undone`). */
  readonly history: KernelStep[] = [];
  /** Undo steps run by rollbacks and `revert`, in order. */
  readonly undone: KernelStep[] = [];
  private readonly model = new NetstackModel();
  private readonly features: Record<KernelFeature, boolean>;
  private injected: Array<{ predicate: FailurePredicate; error?: Error }> = [];

  constructor(options: FakeKernelOptions = {}) {
    this.features = { ...STOCK_KERNEL_FEATURES, ...options.features };
  }

  /** Makes the first step (across later `apply` calls) matching `predicate` fail once, with `error` or a kernel-style error. */
  failAt(predicate: FailurePredicate, error?: Error): void {
    this.injected.push(error ? { predicate, error } : { predicate });
  }

  /** Deterministic picture of every namespace, for `toEqual` before/after checks. */
  snapshot(): Record<string, unknown> {
    return this.model.snapshot();
  }

  /** Sorted link names in a namespace. */
  linkNames(ns: NetnsRef = HOST_NS): string[] {
    return this.model
      .listLinks(nsKey(ns))
      .map((l) => l.name)
      .sort();
  }

  /** The value a sysctl was last set to through this kernel. */
  sysctl(ns: NetnsRef, key: string): string | undefined {
    return this.model.sysctl(nsKey(ns), key);
  }

  /** Adds a physical-like device (no link kind), e.g. the parent NIC of a macvlan network. */
  addDevice(name: string, options: { ns?: NetnsRef; mtu?: number; up?: boolean; mac?: string } = {}): void {
    this.model.addDevice(nsKey(options.ns ?? HOST_NS), name, options);
  }

  /** Makes a namespace reachable by path (as a runtime's /proc/PID/ns/net would be). */
  addPathNetns(path: string): NetnsRef {
    const ref: NetnsRef = { kind: 'path', path: assertNetnsPath(path) };
    if (!this.model.hasNamespace(ref)) this.model.addNamespace(ref);
    return ref;
  }

  /** Makes a namespace disappear with everything in it, as when the last process holding it exits. */
  vanish(ns: NetnsRef): void {
    this.model.deleteNamespace(ns);
  }

  async apply(steps: readonly KernelStep[]): Promise<AppliedPlan> {
    const plan = normalizeSteps(steps);
    this.assertNamespacesExist(plan);
    const done: AppliedStep[] = [];
    for (const [index, step] of plan.entries()) {
      try {
        const hit = this.injected.findIndex((f) => f.predicate(step, index));
        if (hit >= 0) {
          const error = this.injected.splice(hit, 1)[0]?.error;
          throw error ?? kernelStepError(step, 'other', 'injected failure (FakeKernel.failAt)', { stepIndex: index });
        }
        done.push(this.run(step, index));
        this.history.push(step);
      } catch (e) {
        const failures = this.undo(undoPlan(done));
        const rollbackFailures = failures.map((f) => f.message);
        if (isSwitchyardError(e) && rollbackFailures.length) {
          throw new SwitchyardError(e.code, `${e.message} (rollback incomplete: ${rollbackFailures.length} undo step(s) failed)`, { hint: e.hint, cause: e, details: { ...e.details, rollbackFailures } });
        }
        throw e;
      }
    }
    return { steps: done };
  }

  async revert(applied: AppliedPlan): Promise<void> {
    const failures = this.undo(undoPlan(applied.steps));
    await runAllCleanups(
      'Reverting a kernel plan',
      failures.map((f) => () => Promise.reject(f)),
    );
  }

  private assertNamespacesExist(plan: readonly KernelStep[]): void {
    for (const [index, step] of plan.entries()) {
      const op = step.op;
      const refs: NetnsRef[] = [step.ns];
      if ((op.op === 'link.add' || op.op === 'link.set') && op.netns) refs.push(op.netns);
      if (op.op === 'link.add' && op.kind === 'veth' && op.peer.netns) refs.push(op.peer.netns);
      const missing = refs.find((r) => !this.model.hasNamespace(r));
      if (missing) throw kernelStepError(step, 'netns-missing', `${describeNs(missing)} does not exist`, { stepIndex: index });
    }
  }

  /** Applies one normalised step to the model; errors come out as the executor's would. */
  private run(step: KernelStep, index: number): AppliedStep {
    const key = nsKey(step.ns);
    const op = step.op;
    const watched = linkStateNeededBy(step);
    const before = watched === undefined ? undefined : this.model.linkState(key, watched);
    try {
      switch (op.op) {
        case 'link.add':
          this.model.linkAdd(key, op, (kind) => this.features[kind]);
          break;
        case 'link.del':
          this.model.linkDel(key, op.name, op.ifExists === true);
          break;
        case 'link.set':
          this.model.linkSet(key, op);
          break;
        case 'group.del':
          this.model.groupDel(key, op.group);
          break;
        case 'bridge.port':
          this.model.bridgePort(key, op.name, op);
          break;
        case 'addr.add':
          this.model.addrAdd(key, op.dev, op.cidr, op.noprefixroute === true);
          break;
        case 'addr.del':
          this.model.addrDel(key, op.dev, op.cidr);
          break;
        case 'route.add':
          this.model.routeAdd(key, op);
          break;
        case 'route.del':
          this.model.routeDel(key, op);
          break;
        case 'sysctl.set':
          return { ...step, previous: this.model.sysctlSet(key, op.key, op.value) };
      }
    } catch (e) {
      if (e instanceof ModelFailure) {
        if (toleratesAbsence(step, e.reason)) return step;
        throw kernelStepError(step, e.reason, e.message, { stepIndex: index });
      }
      throw e;
    }
    return before ? { ...step, before } : step;
  }

  /** Runs undo steps, keeping on past failures; effects already gone count as undone. */
  private undo(steps: readonly KernelStep[]): SwitchyardError[] {
    const failures: SwitchyardError[] = [];
    for (const step of steps) {
      if (!this.model.hasNamespace(step.ns)) continue; // the namespace took its objects along
      try {
        this.run(step, 0);
        this.undone.push(step);
      } catch (e) {
        const reason = isSwitchyardError(e) ? (e.details?.reason as string | undefined) : undefined;
        if (reason !== undefined && meansAlreadyUndone(reason as Parameters<typeof meansAlreadyUndone>[0])) continue;
        failures.push(isSwitchyardError(e) ? e : new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', String(e), { cause: e, hint: 'An undo step failed unexpectedly; check the objects named in the plan.' }));
      }
    }
    return failures;
  }

  async listLinks(ns: NetnsRef): Promise<LinkInfo[]> {
    return this.list(ns, 'links', (key) => this.model.listLinks(key));
  }

  async listAddrs(ns: NetnsRef): Promise<AddrInfo[]> {
    return this.list(ns, 'addresses', (key) => this.model.listAddrs(key));
  }

  async listRoutes(ns: NetnsRef): Promise<RouteInfo[]> {
    return this.list(ns, 'routes', (key) => this.model.listRoutes(key));
  }

  private list<T>(ns: NetnsRef, what: string, read: (key: string) => T): T {
    assertNetnsRef(ns);
    if (!this.model.hasNamespace(ns)) {
      throw new SwitchyardError('SWY_ERR_NETNS_NOT_FOUND', `Could not list ${what} in ${describeNs(ns)}: it does not exist`, { hint: 'Create the namespace first, or check its name or path.', details: { ns } });
    }
    return read(nsKey(ns));
  }

  async createNetns(name: string): Promise<NetnsRef> {
    const ref: NetnsRef = { kind: 'named', name: assertNetnsName(name) };
    if (this.model.hasNamespace(ref)) {
      throw new SwitchyardError('SWY_ERR_SANDBOX_EXISTS', `Network namespace "${name}" already exists`, { hint: 'Use another name, or delete the stale one with `ip netns del NAME`.', details: { name } });
    }
    this.model.addNamespace(ref);
    return ref;
  }

  async deleteNetns(name: string): Promise<void> {
    this.model.deleteNamespace({ kind: 'named', name: assertNetnsName(name) });
  }

  async netnsExists(ns: NetnsRef): Promise<boolean> {
    return this.model.hasNamespace(assertNetnsRef(ns));
  }

  async probe(feature: KernelFeature): Promise<boolean> {
    if (!(feature in this.features)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `${JSON.stringify(feature)} is not a kernel feature Switchyard can probe`, { hint: 'Use veth, bridge, macvlan, ipvlan, vlan, dummy, vxlan or nftables.' });
    }
    return this.features[feature];
  }
}
