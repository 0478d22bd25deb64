import { readdirSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { RUN_OWNER_LABEL, isSwitchyardError, runOwnerAlive, type NetworkRecord, type SandboxRecord } from '@switchyard/core';
import { CNI_CONTAINER_LABEL } from '@switchyard/cni';
import type { CliContext } from '../context.js';
import { usageError } from '../flags.js';
import { netnsText } from '../output/views.js';
import { removeEach } from './each-name.js';

export interface PruneFlags {
  force?: boolean;
  filter?: string[];
}

type Pruned = { kind: 'network' | 'sandbox'; name: string; id: string };

/**
 * `network prune`: removes every network no sandbox is connected to, as `docker network prune`
 * (the same confirmation, the same `Deleted Networks:` list, `--filter label…`/`until`).
 */
export async function networkPrune(ctx: CliContext, f: PruneFlags): Promise<void> {
  const keep = pruneFilter(f.filter ?? []);
  await ctx.requirePrivileges('Pruning networks');
  if (!(await confirmed(ctx, f, 'WARNING! This will remove all networks not used by at least one sandbox.'))) return;
  const sy = await ctx.open('change');
  const [networks, sandboxes] = await Promise.all([sy.controller.listNetworks(), sy.controller.listSandboxes()]);
  const used = new Set(sandboxes.flatMap((s) => s.endpoints.map((e) => e.networkId)));
  const unused = networks.filter((n) => !used.has(n.id) && keep(n));
  const pruned = await pruneEach(ctx, unused, 'network', (n) => sy.controller.deleteNetwork(n.id));
  report(ctx, 'Deleted Networks', pruned);
}

/**
 * `sandbox prune`: removes every sandbox no process is in — Docker's "stopped containers" — with its
 * endpoints. Kept: host-mode sandboxes, those of a `run` still running, and CNI attachments (their
 * runtime removes them with DEL or GC). A sandbox whose namespace is gone (a reboot) has no process either.
 */
export async function sandboxPrune(ctx: CliContext, f: PruneFlags): Promise<void> {
  const keep = pruneFilter(f.filter ?? []);
  await ctx.requirePrivileges('Pruning sandboxes');
  if (!(await confirmed(ctx, f, 'WARNING! This will remove all sandboxes that no process is using, with their interfaces.'))) return;
  const sy = await ctx.open('change');
  const inUse = ctx.deps.namespaceInUse ?? processNamespaces();
  const idle = (await sy.controller.listSandboxes()).filter((s) => keep(s) && !busy(s, inUse));
  const pruned = await pruneEach(ctx, idle, 'sandbox', (s) => sy.controller.deleteSandbox(s.id));
  report(ctx, 'Deleted Sandboxes', pruned);
}

function busy(s: SandboxRecord, inUse: (path: string) => boolean): boolean {
  if (s.netns.kind === 'host') return true;
  if (s.labels[CNI_CONTAINER_LABEL] !== undefined) return true;
  const owner = s.labels[RUN_OWNER_LABEL];
  if (owner !== undefined && runOwnerAlive(owner)) return true;
  return inUse(netnsText(s.netns));
}

/** Removes each; one that went meanwhile or got a user meanwhile is skipped silently, as Docker does. */
async function pruneEach<T extends NetworkRecord | SandboxRecord>(ctx: CliContext, items: T[], kind: Pruned['kind'], remove: (item: T) => Promise<unknown>): Promise<Pruned[]> {
  const byName = new Map(items.map((i) => [i.name, i]));
  const done = await removeEach(ctx, [...byName.keys()], async (name) => {
    const item = byName.get(name) as T;
    try {
      await remove(item);
    } catch (e) {
      if (isSwitchyardError(e, 'SWY_ERR_NETWORK_IN_USE') || isSwitchyardError(e, 'SWY_ERR_NETWORK_NOT_FOUND') || isSwitchyardError(e, 'SWY_ERR_SANDBOX_NOT_FOUND')) return undefined;
      throw e;
    }
    return { kind, name: item.name, id: item.id };
  });
  return done.filter((p): p is Pruned => p !== undefined);
}

function report(ctx: CliContext, title: string, pruned: Pruned[]): void {
  ctx.result(pruned.length > 0 ? `${title}:\n${pruned.map((p) => `${p.name}\n`).join('')}` : '', { removed: pruned });
}

async function confirmed(ctx: CliContext, f: PruneFlags, warning: string): Promise<boolean> {
  if (f.force) return true;
  return (ctx.deps.confirm ?? askStdin)(`${warning}\nAre you sure you want to continue? [y/N] `);
}

/** Reads one answer from stdin (a pipe too, as `yes | docker network prune`); end of input is no. */
async function askStdin(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('close', () => resolve(''));
      rl.question(question, resolve);
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

/**
 * Whether some process's network namespace is the one at a path (same device and inode): `/proc` is
 * read once, on the first question, and every sandbox is checked against that one scan.
 */
export function processNamespaces(): (path: string) => boolean {
  let inUse: Set<string> | undefined;
  return (path) => {
    let target;
    try {
      target = statSync(path);
    } catch {
      return false; // gone: nothing can be in it
    }
    inUse ??= scanProcessNamespaces();
    return inUse.has(`${target.dev}:${target.ino}`);
  };
}

function scanProcessNamespaces(): Set<string> {
  const found = new Set<string>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const st = statSync(`/proc/${pid}/ns/net`);
      found.add(`${st.dev}:${st.ino}`);
    } catch {
      // exited meanwhile, or not ours to look at
    }
  }
  return found;
}

/**
 * Docker's prune filters: `label=KEY`, `label=KEY=VALUE`, `label!=KEY[=VALUE]`, `until=TIME` (created
 * before: a duration ago such as 24h or 1h30m, an RFC 3339 date, or Unix seconds). Keys are ANDed.
 */
export function pruneFilter(filters: readonly string[], now = Date.now()): (o: { labels: Record<string, string>; createdAt: string }) => boolean {
  const tests: Array<(o: { labels: Record<string, string>; createdAt: string }) => boolean> = [];
  for (const text of filters) {
    const m = /^(label!?|until)=(.*)$/s.exec(text);
    if (!m || m[2] === '') {
      throw usageError(`--filter ${JSON.stringify(text)} is not one prune understands`, 'Use label=KEY[=VALUE], label!=KEY[=VALUE] or until=24h (also an RFC 3339 date or Unix seconds).');
    }
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'until') {
      const before = untilTime(value, now);
      tests.push((o) => Date.parse(o.createdAt) < before);
      continue;
    }
    const eq = value.indexOf('=');
    const [k, v] = eq < 0 ? [value, undefined] : [value.slice(0, eq), value.slice(eq + 1)];
    const has = (o: { labels: Record<string, string> }) => Object.hasOwn(o.labels, k) && (v === undefined || o.labels[k] === v);
    tests.push(key === 'label' ? has : (o) => !has(o));
  }
  return (o) => tests.every((t) => t(o));
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function untilTime(value: string, now: number): number {
  if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) {
    let ms = 0;
    for (const [, n, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * (UNIT_MS[unit as string] as number);
    return now - ms;
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}/.test(value)) {
    throw usageError(`until=${JSON.stringify(value)} is neither a duration nor a time`, 'Write a duration such as 24h, 90m or 1h30m, an RFC 3339 date such as 2026-01-02T15:04:05Z, or Unix seconds.');
  }
  return t;
}
