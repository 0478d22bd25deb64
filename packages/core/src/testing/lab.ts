import { readdir } from 'node:fs/promises';
import { IproutesExecutor } from '../kernel/iproute2-executor.js';
import { defaultCommandContext, programIn } from '../kernel/iproute2-commands.js';
import { execaRunner } from '../kernel/process-runner.js';
import type { AddrInfo, LinkInfo, NetnsRef, RouteInfo } from '../spi/kernel.js';
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

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
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

/** True when `address` answers a ping from inside `ns` (one second per try). */
export async function ping(ns: NetnsRef, address: string, options: { count?: number } = {}): Promise<boolean> {
  const r = await execIn(ns, ['ping', '-n', '-q', '-c', String(options.count ?? 1), '-W', '1', address], { allowFailure: true });
  return r.exitCode === 0;
}

export interface NamespaceListing {
  readonly links: Array<Pick<LinkInfo, 'name' | 'kind' | 'mtu' | 'up' | 'master'>>;
  readonly addrs: AddrInfo[];
  readonly routes: RouteInfo[];
}

export interface KernelSnapshot {
  /** Named namespaces present in /run/netns. */
  readonly netns: string[];
  /** The lab namespace itself under "host", then each namespace asked for. */
  readonly namespaces: Record<string, NamespaceListing>;
}

async function listing(kernel: IproutesExecutor, ns: NetnsRef): Promise<NamespaceListing> {
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

/** Links, addresses and routes of the lab namespace and of the given named namespaces, plus the list of namespaces: compare before/after for leak checks. */
export async function kernelSnapshot(nsNames: readonly string[] = []): Promise<KernelSnapshot> {
  requireLab();
  const kernel = new IproutesExecutor();
  const netns = (await readdir(defaultCommandContext().netnsDir).catch(() => [] as string[])).sort();
  const namespaces: Record<string, NamespaceListing> = { host: await listing(kernel, HOST_NS) };
  for (const name of nsNames) {
    if (netns.includes(name)) namespaces[name] = await listing(kernel, { kind: 'named', name });
  }
  return { netns, namespaces };
}

let uniqueCounter = 0;

/** A name unique to this process and call, short enough for an interface name (prefix up to 7 characters). */
export function uniqueName(prefix: string): string {
  const name = `${prefix}${(process.pid % 46656).toString(36)}${(uniqueCounter++).toString(36)}`;
  if (name.length > 15) throw new Error(`uniqueName: "${name}" is longer than 15 characters; use a shorter prefix`);
  return name;
}
