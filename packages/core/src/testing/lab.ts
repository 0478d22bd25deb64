import { readdir } from 'node:fs/promises';
import { NetlinkExecutor } from '../kernel/netlink/netlink-executor.js';
import { defaultCommandContext, programIn } from '../kernel/iproute2-commands.js';
import { execaRunner } from '../kernel/process-runner.js';
import type { AddrInfo, Kernel, KernelFeature, LinkInfo, NetnsRef, RouteInfo } from '../spi/kernel.js';
import { HOST_NS } from '../spi/kernel.js';

/**
 * Helpers for real-kernel tests (`*.itest.ts`). They only work inside the lab (scripts/lab.sh: a
 * private network and mount namespace), so a test can never change the machine's own network.
 */

/** Throws unless this process runs inside the lab; call it in beforeAll of every kernel test file. */
export function requireLab(): void {
  if (process.env.SWITCHYARD_LAB !== '1') {
    throw new Error('Real-kernel tests must run inside the lab namespace: run via scripts/lab.sh (e.g. `scripts/lab.sh env SWY_TESTS=kernel npx jest ...`).');
  }
}

/** Throws unless this process runs inside the user-mode Linux guest (scripts/uml-run.sh), whose kernel has ipvlan, 802.1Q and dummy. */
export function requireUml(): void {
  if (process.env.SWITCHYARD_UML !== '1') {
    throw new Error('ipvlan, 802.1Q and dummy tests run inside user-mode Linux: run them via scripts/uml-run.sh (e.g. `SWY_TESTS=uml scripts/uml-run.sh node_modules/.bin/jest --runInBand packages/driver-ipvlan`).');
  }
  requireLab();
}

/** The output of a program run by {@link execIn}. */
export interface ExecResult {
  /** Everything the program wrote on stdout. */
  readonly stdout: string;
  /** Everything the program wrote on stderr. */
  readonly stderr: string;
  /** The program's exit status. */
  readonly exitCode: number;
}

/** Runs a program inside a namespace (nsenter for named and path namespaces); throws on a non-zero exit unless `allowFailure`. */
export async function execIn(ns: NetnsRef, argv: readonly string[], options: { input?: string; allowFailure?: boolean } = {}): Promise<ExecResult> {
  requireLab();
  const inv = programIn(ns, argv, { ip: 'ip', nsenter: 'nsenter' }, defaultCommandContext());
  const result = await execaRunner(inv.file, inv.args, options.input);
  if (result.exitCode !== 0 && !options.allowFailure) {
    throw new Error(`${argv.join(' ')} failed in ${ns.kind === 'host' ? 'the lab namespace' : JSON.stringify(ns)} (exit ${result.exitCode}): ${result.stderr.trim()}`);
  }
  return result;
}

/**
 * True when `address` answers a ping from inside `ns`. A reply ends the wait; otherwise up to `tries`
 * pings of one second each (a fresh neighbour entry can cost the first one).
 */
export async function ping(ns: NetnsRef, address: string, options: { tries?: number } = {}): Promise<boolean> {
  for (let i = 0; i < (options.tries ?? 3); i++) {
    const r = await execIn(ns, ['ping', '-n', '-q', '-c', '1', '-W', '1', address], { allowFailure: true });
    if (r.exitCode === 0) return true;
  }
  return false;
}

/**
 * True when `address` stays silent from inside `ns` (three pings, none answered) while a control
 * answers: an address pinged from the same namespace, or `{ ns, address }` pinged from another.
 * Silence alone proves nothing (a broken network is silent too), so this throws when the control
 * does not answer.
 */
export async function isolatedFrom(ns: NetnsRef, address: string, options: { control: string | { ns: NetnsRef; address: string } }): Promise<boolean> {
  const control = typeof options.control === 'string' ? { ns, address: options.control } : options.control;
  if (!(await ping(control.ns, control.address))) {
    throw new Error(`isolatedFrom: the control ${control.address} does not answer from ${JSON.stringify(control.ns)}, so silence from ${address} would prove nothing`);
  }
  const r = await execIn(ns, ['ping', '-n', '-q', '-c', '3', '-i', '0.3', '-W', '1', address], { allowFailure: true });
  return r.exitCode !== 0 && /\b0 received\b/.test(r.stdout);
}

/** One namespace in a {@link KernelSnapshot}, each list sorted so snapshots compare equal. */
export interface NamespaceListing {
  /** Links, by name, with the attributes that matter for leak checks. */
  readonly links: Array<Pick<LinkInfo, 'name' | 'kind' | 'mtu' | 'up' | 'master'>>;
  /** Addresses, by link and address. */
  readonly addrs: AddrInfo[];
  /** Main-table routes, by family, destination, link and gateway. */
  readonly routes: RouteInfo[];
}

/** What {@link kernelSnapshot} saw: compare two of them to find what a test leaked. */
export interface KernelSnapshot {
  /** Named namespaces present in /run/netns. */
  readonly netns: string[];
  /** The lab namespace itself under "host", then each namespace asked for. */
  readonly namespaces: Record<string, NamespaceListing>;
}

async function listing(kernel: Kernel, ns: NetnsRef): Promise<NamespaceListing> {
  const [links, addrs, routes] = await Promise.all([kernel.listLinks(ns), kernel.listAddrs(ns), kernel.listRoutes(ns)]);
  const sortBy = <T>(items: T[], key: (t: T) => string): T[] => items.sort((a, b) => key(a).localeCompare(key(b)));
  return {
    links: sortBy(
      links.map((l) => JSON.parse(JSON.stringify({ name: l.name, kind: l.kind, mtu: l.mtu, up: l.up, master: l.master })) as NamespaceListing['links'][number]),
      (l) => l.name,
    ),
    addrs: sortBy(addrs, (a) => `${a.dev} ${a.cidr}`),
    routes: sortBy(routes, (r) => `${r.family} ${r.dst} ${r.dev ?? ''} ${r.via ?? ''}`),
  };
}

// Snapshots read through netlink, not by spawning `ip` (three processes per namespace cost ~0.3 s under
// user-mode Linux); the oracle tests hold the netlink listings equal to iproute2's.
let snapshotKernel: NetlinkExecutor | undefined;

/**
 * Links, addresses and routes of the lab namespace and of the given named namespaces (or of every one,
 * with `'all'`), plus the list of namespaces: compare before/after for leak checks.
 */
export async function kernelSnapshot(nsNames: readonly string[] | 'all' = []): Promise<KernelSnapshot> {
  requireLab();
  const kernel = (snapshotKernel ??= new NetlinkExecutor());
  const netns = (await readdir(defaultCommandContext().netnsDir).catch(() => [] as string[])).sort();
  const namespaces: Record<string, NamespaceListing> = { host: await listing(kernel, HOST_NS) };
  for (const name of nsNames === 'all' ? netns : nsNames) {
    if (netns.includes(name)) namespaces[name] = await listing(kernel, { kind: 'named', name });
  }
  return { netns, namespaces };
}

/** What an operation came to, as a value a test can compare with the outcome it expects: ok, or the error's code and message. */
export async function outcomeOf(operation: Promise<unknown>): Promise<
  | {
      /** The operation succeeded. */
      ok: true;
    }
  | {
      /** The error's `code` (a SwitchyardError code), or `not a SwitchyardError`. */
      code: string;
      /** The error's message. */
      message: string;
    }
> {
  try {
    await operation;
    return { ok: true };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? 'not a SwitchyardError', message: e instanceof Error ? e.message : String(e) };
  }
}

const FEATURES: readonly KernelFeature[] = ['veth', 'bridge', 'macvlan', 'ipvlan', 'vlan', 'dummy', 'vxlan', 'nftables'];

/**
 * What this kernel can do, as its probe answers: give it to `new FakeKernel({ features })` to model
 * the kernel under test, and branch a test on it so both answers are asserted (the lab on this
 * machine has no ipvlan, 802.1Q or dummy; user-mode Linux has them).
 */
export async function probeFeatures(kernel: Kernel): Promise<Record<KernelFeature, boolean>> {
  const answers = await Promise.all(FEATURES.map(async (f) => [f, await kernel.probe(f)] as const));
  return Object.fromEntries(answers) as Record<KernelFeature, boolean>;
}

let uniqueCounter = 0;

/** A name unique to this process and call, short enough for an interface name (prefix up to 7 characters). */
export function uniqueName(prefix: string): string {
  const name = `${prefix}${(process.pid % 46656).toString(36)}${(uniqueCounter++).toString(36)}`;
  if (name.length > 15) throw new Error(`uniqueName: "${name}" is longer than 15 characters; use a shorter prefix`);
  return name;
}
