import type { Firewall, FirewallChange, FirewallCheck, FirewallState } from '@switchyard/core';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LibnftablesRunner, NftCommandRunner, defaultNftRunner, type NftRunner } from './nft-runner.js';
import { BASE_CHAINS, TABLE, changeScript, expectedElementCounts, networkChain, syncScript } from './ruleset.js';

interface NftJsonObject {
  chain?: { name: string };
  map?: { name: string; elem?: unknown[] };
  set?: { name: string; elem?: unknown[] };
}

/**
 * The `Firewall` port on nftables: one table (`inet switchyard`), one transaction per Switchyard
 * operation. Holds no state of its own: core hands it the intended state from the store.
 */
export class NftablesFirewall implements Firewall {
  readonly name = 'nftables';
  readonly available = true;

  constructor(
    /** Runs nft scripts: libnftables in-process when available, else the `nft` command (see {@link defaultNftRunner}). */
    readonly runner: NftRunner = defaultNftRunner(),
  ) {}

  /** Set once this instance has installed the skeleton (table, sets, base chains) itself. */
  private skeletonInstalled = false;

  async apply(change: FirewallChange): Promise<void> {
    // The first change of an instance re-asserts the skeleton; later ones carry only their own
    // elements (a smaller transaction). If the table vanished meanwhile, retry with the skeleton.
    if (this.skeletonInstalled) {
      try {
        await this.runner.run(changeScript(change, false));
        return;
      } catch {
        this.skeletonInstalled = false;
      }
    }
    await this.runner.run(changeScript(change, true));
    this.skeletonInstalled = true;
  }

  async sync(state: FirewallState): Promise<void> {
    await this.runner.run(syncScript(state));
    this.skeletonInstalled = true;
  }

  async show(): Promise<string> {
    if (!(await this.hasTable())) return `(no table inet ${TABLE})\n`;
    return this.runner.list(`list table inet ${TABLE}`, false);
  }

  private async hasTable(family: 'inet' | 'bridge' = 'inet'): Promise<boolean> {
    const tables = await this.runner.list(`list tables ${family}`, false);
    return tables.split('\n').some((l) => l.trim() === `table ${family} ${TABLE}`);
  }

  private async tableObjects(family: 'inet' | 'bridge'): Promise<NftJsonObject[]> {
    const parsed = JSON.parse(await this.runner.list(`list table ${family} ${TABLE}`, true)) as { nftables?: NftJsonObject[] };
    return parsed.nftables ?? [];
  }

  async verify(state: FirewallState): Promise<FirewallCheck> {
    if (!(await this.hasTable())) {
      // Nothing to hold yet (a fresh host): the first change creates the table.
      return { problems: state.networks.length === 0 ? [] : [`table inet ${TABLE} is missing`] };
    }
    const objects = await this.tableObjects('inet');
    const chains = new Set(objects.flatMap((o) => (o.chain ? [o.chain.name] : [])));
    const problems: string[] = [];
    for (const chain of [...BASE_CHAINS, ...state.networks.map(networkChain)]) if (!chains.has(chain)) problems.push(`chain ${chain} is missing`);
    const expected = expectedElementCounts(state);
    const sizes = new Map<string, number>(objects.flatMap((o) => ((o.map ?? o.set) ? [[`inet ${(o.map ?? o.set)?.name}`, (o.map ?? o.set)?.elem?.length ?? 0] as const] : [])));
    // The bridge table (anti-spoofing on bridge ports) is read only when something should be in it.
    if ([...expected.keys()].some((k) => k.startsWith('bridge '))) {
      const bridge = (await this.hasTable('bridge')) ? await this.tableObjects('bridge') : [];
      if (bridge.length === 0) problems.push(`table bridge ${TABLE} is missing`);
      for (const o of bridge) if (o.set ?? o.map) sizes.set(`bridge ${(o.set ?? o.map)?.name}`, (o.set ?? o.map)?.elem?.length ?? 0);
    }
    for (const [name, count] of expected) {
      const got = sizes.get(name);
      if (got === undefined) problems.push(`${name} is missing`);
      else if (got !== count) problems.push(`${name} holds ${got} entries, ${count} expected`);
    }
    return { problems };
  }
}

/**
 * The nftables firewall when this host can run it: in-process libnftables when it loads, else the
 * `nft` command when it is installed; undefined when neither is (the caller falls back to `none`).
 * `prefer: 'nft'` picks the command even when the library loads (the reference path).
 */
export function detectNftablesFirewall(prefer: 'libnftables' | 'nft' = 'libnftables'): NftablesFirewall | undefined {
  // A kernel without nf_tables: libnftables would exit the whole process (exit 3) on its first context.
  if (kernelLacksNftables()) return undefined;
  if (prefer === 'libnftables') {
    try {
      return new NftablesFirewall(new LibnftablesRunner());
    } catch {
      // Not installed: try the command.
    }
  }
  const nft = ['/usr/sbin/nft', '/usr/bin/nft', '/sbin/nft'].find((p) => existsSync(p));
  return nft ? new NftablesFirewall(new NftCommandRunner(nft)) : undefined;
}

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_NETFILTER = 12;
const EPROTONOSUPPORT = 93;

/**
 * True when this kernel cannot speak nftables: a NETLINK_NETFILTER socket cannot be opened (user-mode
 * Linux built without netfilter, say). Opening one is what libnftables does first, and it exits the
 * process when that fails; asked here through libc (koffi, loaded for libnftables anyway). When koffi or
 * libc cannot be loaded the answer is "no": the runners then report their own errors.
 */
export function kernelLacksNftables(): boolean {
  let koffi: Koffi;
  let libc: ReturnType<Koffi['load']>;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
    libc = koffi.load('libc.so.6');
  } catch {
    return false;
  }
  const socket = libc.func('int socket(int domain, int type, int protocol)') as (d: number, t: number, p: number) => number;
  const close = libc.func('int close(int fd)') as (fd: number) => number;
  const errnoLocation = libc.func('int *__errno_location()');
  const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd >= 0) {
    close(fd);
    return false;
  }
  // Only "this protocol does not exist" means no nftables; EMFILE, EACCES and the like are the runners' to report.
  return koffi.decode(errnoLocation(), 'int') === EPROTONOSUPPORT;
}

interface Koffi {
  load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
  decode(ptr: unknown, type: string): unknown;
}
