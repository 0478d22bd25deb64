import { familyOf, type SandboxSpec } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { parseAddressFlag, parseIntegerFlag, usageError } from '../flags.js';
import { netnsText, sandboxDetails, sandboxesTable, shortId, withStale } from '../output/views.js';
import { parseFilters, rowMatches, sandboxRow, scriptLines, scripted, type ListFlags } from '../output/list-options.js';
import { inspectEach, removeEach } from './each-name.js';
import { parseExposeFlags } from '../port-spec.js';

export interface SandboxCreateFlags {
  none?: boolean;
  host?: boolean;
  netns?: string;
  pid?: string;
  hostname?: string;
  dns?: string[];
  expose?: string[];
}

/** `sandbox create NAME`: a new namespace (default), loopback only (--none), the host's (--host), or an existing one. */
export async function sandboxCreate(ctx: CliContext, name: string, f: SandboxCreateFlags): Promise<void> {
  const spec = sandboxSpec(name, f);
  await ctx.requirePrivileges('Creating a sandbox');
  const sy = await ctx.open('change');
  const s = await sy.controller.createSandbox(spec);
  ctx.result(`created sandbox ${s.name} (${s.mode}, netns ${netnsText(s.netns)})\n  id ${s.id}\n`, { sandbox: s });
}

export function sandboxSpec(name: string, f: SandboxCreateFlags): SandboxSpec {
  if (f.none && f.host) throw usageError('--none and --host cannot both be given', 'Pick one mode: --none (loopback only) or --host (share the host namespace).');
  if (f.netns && f.pid) throw usageError('--netns and --pid cannot both be given', 'Name the namespace one way: a path (--netns) or a process (--pid).');
  const nameservers = (f.dns ?? []).map((d) => parseAddressFlag('--dns', d, familyOf(d) === 6 ? 6 : 4));
  return {
    name,
    ...(f.none ? { mode: 'none' as const } : f.host ? { mode: 'host' as const } : {}),
    ...(f.netns ? { netnsPath: f.netns } : {}),
    ...(f.pid ? { pid: parseIntegerFlag('--pid', f.pid, 1, 2 ** 22) } : {}),
    ...(f.hostname ? { hostname: f.hostname } : {}),
    ...(nameservers.length > 0 ? { dns: { nameservers } } : {}),
    ...(f.expose && f.expose.length > 0 ? { ports: parseExposeFlags(f.expose) } : {}),
  };
}

export async function sandboxList(ctx: CliContext, f: ListFlags = {}): Promise<void> {
  const filters = parseFilters(f.filter ?? [], ['name', 'id', 'label', 'network', 'mode']);
  const sy = await ctx.open('read');
  if (scripted(f)) {
    const rows = (await sy.controller.listSandboxes()).map((s) => ({ s, row: sandboxRow(s) })).filter(({ s, row }) => rowMatches(row, filters, s.id));
    ctx.result(
      scriptLines(
        rows.map(({ row }) => row),
        f,
      ),
      { sandboxes: rows.map(({ s }) => s) },
    );
    return;
  }
  const [all, { sandboxes: stale }] = await Promise.all([sy.controller.listSandboxes(), sy.controller.staleness()]);
  const sandboxes = all.filter((s) => rowMatches(sandboxRow(s), filters, s.id));
  const none = filters.size > 0 ? '' : 'No sandboxes yet. Create one with `switchyard sandbox create NAME`.\n';
  ctx.result(sandboxes.length > 0 ? sandboxesTable(sandboxes, stale) : none, { sandboxes: sandboxes.map((s) => withStale(s, stale[s.name])) });
}

/** `sandbox inspect NAME…`: every name tried; see inspectEach. */
export async function sandboxInspect(ctx: CliContext, names: string[]): Promise<void> {
  const sy = await ctx.open('read');
  const { sandboxes: stale } = await sy.controller.staleness();
  await inspectEach(ctx, names, async (name) => {
    const s = await sy.controller.inspectSandbox(name);
    return { human: sandboxDetails(s, stale[s.name]), json: { sandbox: withStale(s, stale[s.name]) } };
  });
}

/** `sandbox rm NAME…`: each sandbox leaves its networks and its namespace goes. */
export async function sandboxRemove(ctx: CliContext, names: string[]): Promise<void> {
  await ctx.requirePrivileges('Removing a sandbox');
  const sy = await ctx.open('change');
  const removed = await removeEach(ctx, names, async (name) => {
    const s = await sy.controller.deleteSandbox(name);
    ctx.say(`removed sandbox ${s.name} (${shortId(s.id)})${s.endpoints.length > 0 ? `, with its ${s.endpoints.length} interface(s)` : ''}`);
    return s;
  });
  ctx.emitJson({ removed: removed.map((s) => ({ kind: 'sandbox', name: s.name, id: s.id })) });
}
