import { readFile } from 'node:fs/promises';
import type { IpamRangeConfig, NetworkSpec } from '@switchyard/core';
import type { CliContext } from '../context.js';
import { parseAddressFlag, parseCidrFlag, parseKeyValues, usageError } from '../flags.js';
import { configError, parseNetConf } from '@switchyard/cni';
import { loadNetDir } from '../netd/net-dir.js';
import { oneLine } from '../output/failure.js';
import { networkRow, parseFilters, rowMatches, scriptLines, scripted, type ListFlags } from '../output/list-options.js';
import { networkDetails, networksTable, shortId, withStale } from '../output/views.js';
import { inspectEach, removeEach } from './each-name.js';

export interface NetworkCreateFlags {
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  ipv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  internal?: boolean;
  disableDns?: boolean;
  dns?: boolean;
  label?: string[];
  opt?: string[];
  fromFile?: string;
  auxAddress?: string[];
  ipamDriver?: string;
  ipamOpt?: string[];
}

/** `network create NAME`: a network from flags, or from an rkt/CNI conf file (`--from-file`). */
export async function networkCreate(ctx: CliContext, name: string | undefined, f: NetworkCreateFlags): Promise<void> {
  const spec = f.fromFile ? await specFromFile(name, f) : specFromFlags(name, f);
  await ctx.requirePrivileges('Creating a network');
  const sy = await ctx.open('change');
  // As `docker network create`: a bridge network masquerades unless told otherwise (-o ipMasq=false), when
  // this host has a firewall. A net.d file (--from-file) keeps CNI's default, off.
  const masquerades = !f.fromFile && spec.driver === 'bridge' && !spec.internal && spec.options?.ipMasq === undefined && sy.controller.firewallName !== 'none';
  const n = await sy.controller.createNetwork(masquerades ? { ...spec, options: { ...spec.options, ipMasq: true } } : spec);
  const where = [n.driver, n.ipv4?.subnet, n.ipv4?.gateway ? `gateway ${n.ipv4.gateway}` : undefined, n.ipv6?.subnet].filter(Boolean).join(', ');
  ctx.result(`created network ${n.name} (${where})\n  id ${n.id}\n${n.notes.map((x) => `  note: ${x}\n`).join('')}`, { network: n });
}

function specFromFlags(name: string | undefined, f: NetworkCreateFlags): NetworkSpec {
  if (!name) throw usageError('network create needs a NAME (or --from-file FILE)', 'Write `switchyard network create NAME [--subnet CIDR]`.');
  if (!f.subnet && (f.gateway || f.ipRange)) throw usageError('--gateway and --ip-range need --subnet', 'Add --subnet CIDR, e.g. --subnet 10.88.0.0/24 --gateway 10.88.0.1.');
  if (!f.subnet6 && f.gateway6) throw usageError('--gateway6 needs --subnet6', 'Add --subnet6 CIDR, e.g. --subnet6 fd00:88::/64.');
  const aux = auxAddressFlags(f);
  const v4: IpamRangeConfig | undefined = f.subnet
    ? {
        subnet: parseCidrFlag('--subnet', f.subnet, 4),
        ...(f.gateway ? { gateway: parseAddressFlag('--gateway', f.gateway, 4) } : {}),
        ...(f.ipRange ? { ipRange: parseCidrFlag('--ip-range', f.ipRange, 4) } : {}),
        ...(aux[4] ? { auxAddresses: aux[4] } : {}),
      }
    : undefined;
  const v6: IpamRangeConfig | undefined = f.subnet6
    ? { subnet: parseCidrFlag('--subnet6', f.subnet6, 6), ...(f.gateway6 ? { gateway: parseAddressFlag('--gateway6', f.gateway6, 6) } : {}), ...(aux[6] ? { auxAddresses: aux[6] } : {}) }
    : undefined;
  const ipv6 = f.ipv6 === true || v6 !== undefined;
  const ipamOptions = parseKeyValues('--ipam-opt', f.ipamOpt);
  if (f.dns && f.disableDns) throw usageError('--dns and --disable-dns contradict each other', 'Give one of them (bridge and veth networks have DNS unless --disable-dns).');
  return {
    name,
    driver: f.driver ?? 'bridge',
    ipam: { ...(f.ipamDriver ? { driver: f.ipamDriver } : {}), ...(v4 ? { ipv4: [v4] } : {}), ...(v6 ? { ipv6: [v6] } : {}), ...(Object.keys(ipamOptions).length > 0 ? { options: ipamOptions } : {}) },
    ...(ipv6 ? { ipv6: true } : {}),
    ...(f.internal ? { internal: true } : {}),
    ...(f.disableDns ? { dns: false } : f.dns ? { dns: true } : {}),
    labels: parseKeyValues('--label', f.label),
    options: parseKeyValues('-o', f.opt),
  };
}

/** `--aux-address NAME=IP`, split by family: each needs the subnet flag of its family (as Docker: "no matching subnet"). */
function auxAddressFlags(f: NetworkCreateFlags): { 4?: Record<string, string>; 6?: Record<string, string> } {
  const out: { 4?: Record<string, string>; 6?: Record<string, string> } = {};
  for (const [name, address] of Object.entries(parseKeyValues('--aux-address', f.auxAddress))) {
    const family = address.includes(':') ? 6 : 4;
    if (!(family === 4 ? f.subnet : f.subnet6)) {
      throw usageError(`--aux-address ${name}=${address} needs ${family === 4 ? '--subnet' : '--subnet6'}: no subnet given for it to belong to`, `Add ${family === 4 ? '--subnet CIDR' : '--subnet6 CIDR'} holding ${address}.`);
    }
    (out[family] ??= {})[name] = parseAddressFlag('--aux-address', address, family);
  }
  return out;
}

async function specFromFile(name: string | undefined, f: NetworkCreateFlags): Promise<NetworkSpec> {
  const clash = (['subnet', 'gateway', 'ipRange', 'subnet6', 'gateway6', 'ipv6', 'internal', 'dns', 'disableDns'] as const).filter((k) => f[k] !== undefined);
  if (clash.length > 0 || (f.opt ?? []).length > 0 || (f.auxAddress ?? []).length > 0 || (f.ipamOpt ?? []).length > 0 || f.driver !== undefined || f.ipamDriver !== undefined) {
    throw usageError('--from-file takes the network from the file; it cannot be combined with address, driver, IPAM or -o flags', 'Put those settings in the file, or leave out --from-file.');
  }
  const file = f.fromFile as string;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw configError(file, undefined, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'Check the path given to --from-file.');
  }
  const spec = parseNetConf(file, text);
  return { ...spec, ...(name ? { name } : {}), labels: { ...spec.labels, ...parseKeyValues('--label', f.label) } };
}

/**
 * `network ls`: created networks, then what net.d declares but nobody has used yet. `--filter` narrows
 * the created ones (and drops the net.d part); `-q` or `--format` (Docker's flags) print one line each, for scripts.
 */
export async function networkList(ctx: CliContext, f: ListFlags = {}): Promise<void> {
  const filters = parseFilters(f.filter ?? [], ['name', 'id', 'driver', 'label', 'scope']);
  const sy = await ctx.open('read');
  if (scripted(f)) {
    const [networks, sandboxes] = await Promise.all([sy.controller.listNetworks(), sy.controller.listSandboxes()]);
    const rows = networks.map((n) => ({ n, row: networkRow(n, sandboxes) })).filter(({ n, row }) => rowMatches(row, filters, n.id));
    ctx.result(
      scriptLines(
        rows.map(({ row }) => row),
        f,
      ),
      { networks: rows.map(({ n }) => n) },
    );
    return;
  }
  const [networks, sandboxes, netd, { networks: stale }] = await Promise.all([sy.controller.listNetworks(), sy.controller.listSandboxes(), loadNetDir(ctx.netDir), sy.controller.staleness()]);
  if (filters.size > 0) {
    const shown = networks.filter((n) => rowMatches(networkRow(n, sandboxes), filters, n.id));
    ctx.result(shown.length > 0 ? networksTable(shown, sandboxes, stale) : '', { networks: shown.map((n) => withStale(n, stale[n.name])) });
    return;
  }
  const created = new Set(networks.map((n) => n.name));
  const declared = netd.declarations
    .filter((d) => !created.has(d.name))
    .map((d) => ({ name: d.name, file: d.file, ...(d.spec ? { driver: d.spec.driver } : {}), ...(d.error ? { error: { code: d.error.code, message: d.error.message } } : {}) }));
  const broken = netd.broken.map((b) => ({ file: b.file, error: { code: b.error.code, message: b.error.message } }));
  let human = networks.length > 0 ? networksTable(networks, sandboxes, stale) : 'No networks yet. Create one with `switchyard network create NAME`.\n';
  if (declared.length > 0) {
    human += `\nDeclared in ${netd.dir}, created on first use:\n` + declared.map((d) => (d.error ? `  ${d.name} (unusable: ${oneLine(d.error.message)})\n` : `  ${d.name} (${d.driver}, ${d.file})\n`)).join('');
  }
  if (broken.length > 0) human += `\nFiles in ${netd.dir} that declare no network:\n` + broken.map((b) => `  ${b.file}: ${oneLine(b.error.message)}\n`).join('');
  ctx.result(human, { networks: networks.map((n) => withStale(n, stale[n.name])), declared, broken });
}

/**
 * `network inspect NAME…`: each record and who is connected, every name tried (as `docker network inspect a b`);
 * a name that is not found is reported at the end and sets the exit status. JSON: one name gives its object,
 * several an array of them.
 */
export async function networkInspect(ctx: CliContext, names: string[]): Promise<void> {
  const sy = await ctx.open('read');
  const [sandboxes, { networks: stale }] = await Promise.all([sy.controller.listSandboxes(), sy.controller.staleness()]);
  await inspectEach(ctx, names, async (name) => {
    const n = await sy.controller.inspectNetwork(name);
    const endpoints = sandboxes.flatMap((s) => s.endpoints.filter((e) => e.networkId === n.id).map((e) => ({ sandbox: s.name, ...e })));
    return { human: networkDetails(n, sandboxes, stale[n.name]), json: { network: withStale(n, stale[n.name]), endpoints } };
  });
}

/** `network rm NAME…`: removes each in turn; one that cannot go does not stop the others (its error is the exit status). */
export async function networkRemove(ctx: CliContext, names: string[]): Promise<void> {
  await ctx.requirePrivileges('Removing a network');
  const sy = await ctx.open('change');
  const removed = await removeEach(ctx, names, async (name) => {
    const n = await sy.controller.deleteNetwork(name);
    ctx.say(`removed network ${n.name} (${shortId(n.id)})`);
    return n;
  });
  ctx.emitJson({ removed: removed.map((n) => ({ kind: 'network', name: n.name, id: n.id })) });
}
