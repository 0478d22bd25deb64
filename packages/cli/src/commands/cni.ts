import { createHash } from 'node:crypto';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SwitchyardError, assertAdoptableNamespace, netnsIdentity } from '@switchyard/core';
import { CniRuntime, DEFAULT_CNI_PATH, ResultCache, loadConfFile, spawnPlugin, splitPath, type ConfList } from '@switchyard/driver-cni';
import type { CliContext } from '../context.js';
import { loadNetDir } from '../netd/net-dir.js';

/**
 * `cni install [--dir DIR]`: puts Switchyard's CNI plugins into a CNI bin directory, as small shell
 * wrappers that run this Node with the plugin entry and its name (a runtime execs them with a bare
 * environment, so neither depends on PATH). Each is written to a temporary name and renamed into place,
 * so a runtime never execs half a file. The state dir the plugins use is SWITCHYARD_STATE_DIR when the
 * runtime passes it, else /var/lib/switchyard, the CLI's default.
 */
export async function cniInstall(ctx: CliContext, opts: { dir?: string }): Promise<void> {
  const dir = opts.dir ?? '/opt/cni/bin';
  const { cniEntry, CNI_PLUGINS } = await import('@switchyard/cni');
  // The bundled plugins when they are built and up to date, else the unbundled entry (docs/cni.md).
  const entry = cniEntry();
  await ctx.requirePrivileges(`Installing CNI plugins into ${dir}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const installed: string[] = [];
  for (const name of CNI_PLUGINS) {
    const path = join(dir, name);
    const temp = `${path}.tmp-${process.pid}`;
    await writeFile(temp, `#!/bin/sh\n# Switchyard CNI plugin ${name} (written by switchyard cni install)\nexec ${quote(process.execPath)} ${quote(entry)} --plugin ${name} "$@"\n`, { mode: 0o755 });
    await chmod(temp, 0o755);
    await rename(temp, path);
    installed.push(path);
  }
  ctx.result(`installed ${installed.length} CNI plugins into ${dir}: ${CNI_PLUGINS.join(', ')}\n`, { dir, plugins: installed });
}

export interface CniToolFlags {
  ifname?: string;
  containerId?: string;
  args?: string;
  capArgs?: string;
  keep?: string[];
}

/** Where `cni add` keeps its results (libcni's cache), apart from the networks' own. */
const TOOL_NETWORK_ID = 'switchyard-cni-tool';

/**
 * `cni add|del|check|gc|status CONF [SANDBOX]`: runs a CNI config's plugins by hand, as `cnitool` does: ADD
 * prints the result, DEL and CHECK use the result cached by ADD (under the state dir), GC removes the
 * attachments ADD made that `--keep` does not list and then asks the plugins (1.1.0 on), STATUS asks each
 * plugin whether it can take an ADD. CONF is a .conf/.conflist path or a network declared in the net dir;
 * SANDBOX a Switchyard sandbox (its netns) or a netns path. Plugins come from CNI_PATH (default
 * /opt/cni/bin:/usr/lib/cni); CNI_ARGS and CAP_ARGS (JSON) from the environment, as cnitool reads them, or `--args`/`--cap-args`.
 */
export async function cniTool(ctx: CliContext, command: 'add' | 'del' | 'check' | 'gc' | 'status', conf: string, sandbox: string | undefined, f: CniToolFlags): Promise<void> {
  const list = await confFor(ctx, conf);
  const runtime = new CniRuntime(splitPath(ctx.io.env.CNI_PATH || DEFAULT_CNI_PATH), new ResultCache(join(ctx.stateDir, 'cni-tool')), spawnPlugin);
  const version = await runtime.negotiate(list);
  if (command === 'status') {
    const asked = await runtime.status(list, version);
    ctx.result(asked ? `${list.name}: every plugin is ready\n` : `${list.name}: CNI ${version} has no STATUS; nothing to ask\n`, { network: list.name, cniVersion: version, ready: asked ? true : null });
    return;
  }
  await ctx.requirePrivileges(`Running CNI ${command.toUpperCase()}`);
  if (command === 'gc') {
    const keep = (f.keep ?? []).map((k) => {
      const [containerID, ifname] = k.split('/');
      if (!containerID || !ifname)
        throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `--keep ${JSON.stringify(k)} is not CONTAINER_ID/IFNAME`, { hint: 'Write it as the container id and interface of an attachment to keep, e.g. --keep cni-abc/eth0.' });
      return { containerID, ifname };
    });
    const removed = await runtime.gc(list, version, TOOL_NETWORK_ID, keep);
    ctx.result(removed.length > 0 ? removed.map((r) => `removed ${r}\n`).join('') : `${list.name}: nothing to collect\n`, { network: list.name, removed });
    return;
  }
  if (sandbox === undefined)
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `cni ${command} needs a sandbox or a netns path`, { hint: `switchyard cni ${command} ${conf} SANDBOX (a sandbox name, or a path such as /run/netns/NAME)` });
  const netns = await netnsPathOf(ctx, sandbox);
  const rt = {
    containerId: f.containerId ?? `switchyard-cni-${createHash('sha256').update(netns).digest('hex').slice(0, 20)}`,
    netns,
    ifName: f.ifname ?? (ctx.io.env.CNI_IFNAME || 'eth0'),
    args: parseCniArgs(f.args ?? ctx.io.env.CNI_ARGS ?? ''),
    capabilityArgs: parseCapArgs(f.capArgs ?? ctx.io.env.CAP_ARGS),
  };
  if (command === 'add') {
    const result = await runtime.add(list, version, rt, TOOL_NETWORK_ID);
    ctx.result(`${JSON.stringify(result, null, 2)}\n`, { result });
  } else if (command === 'del') {
    await runtime.delAttachment(list, version, rt);
    ctx.result(`deleted ${rt.containerId}/${rt.ifName} from ${list.name}\n`, { network: list.name, containerId: rt.containerId, ifname: rt.ifName });
  } else {
    const checked = await runtime.check(list, version, rt);
    ctx.result(checked ? `${list.name}: ${rt.containerId}/${rt.ifName} checks out\n` : `${list.name}: CHECK is disabled (disableCheck)\n`, { network: list.name, checked });
  }
}

/** `K=V;K=V` as CNI_ARGS pairs. */
function parseCniArgs(text: string): Array<[string, string]> {
  return text
    .split(';')
    .filter((p) => p !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `CNI argument ${JSON.stringify(pair)} is not KEY=VALUE`, { hint: 'Write CNI_ARGS as KEY=VALUE pairs separated by ";", e.g. IP=10.22.0.9;IgnoreUnknown=1.' });
      return [pair.slice(0, at), pair.slice(at + 1)];
    });
}

/** CAP_ARGS: a JSON object of capability arguments, e.g. {"portMappings": [...]}. */
function parseCapArgs(text: string | undefined): Record<string, never> {
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `capability arguments are not JSON (${e instanceof Error ? e.message : String(e)})`, {
      hint: 'Give CAP_ARGS (or --cap-args) as a JSON object, e.g. {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}.',
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SwitchyardError('SWY_ERR_INVALID_OPTION', 'capability arguments must be a JSON object', { hint: 'e.g. {"portMappings": [...]}' });
  return value as Record<string, never>;
}

/** The config CONF names: a file path (anything with a "/" or a .conf/.conflist/.json name), else a network declared in the net dir. */
async function confFor(ctx: CliContext, conf: string): Promise<ConfList> {
  if (conf.includes('/') || /\.(conf|conflist|json)$/.test(conf)) return loadConfFile(conf);
  const declared = (await loadNetDir(ctx.netDir)).declarations.find((d) => d.name === conf);
  if (!declared) {
    throw new SwitchyardError('SWY_ERR_NETWORK_NOT_FOUND', `No CNI config named "${conf}" in ${ctx.netDir}`, {
      hint: `Give a .conf/.conflist path, or declare the network in a file in ${ctx.netDir} (see \`switchyard network ls\`).`,
      details: { name: conf, netDir: ctx.netDir },
    });
  }
  return loadConfFile(declared.file);
}

/** A sandbox's netns path, or the path given: it must exist, and it must not be the host's (core's rule for adopting a namespace). */
async function netnsPathOf(ctx: CliContext, sandbox: string): Promise<string> {
  if (sandbox.startsWith('/')) {
    const identity = netnsIdentity(sandbox);
    if (!identity) throw new SwitchyardError('SWY_ERR_NETNS_NOT_FOUND', `No network namespace at ${sandbox}`, { hint: 'Give an existing netns path (/run/netns/NAME, /proc/PID/ns/net) or a sandbox name.' });
    assertAdoptableNamespace(sandbox, identity);
    return sandbox;
  }
  const sy = await ctx.open('read');
  const ns = (await sy.controller.inspectSandbox(sandbox)).netns;
  if (ns.kind === 'named') return join('/run/netns', ns.name);
  if (ns.kind === 'path') return ns.path;
  throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Sandbox "${sandbox}" shares the host namespace`, { hint: 'CNI attaches containers in namespaces of their own: give an isolated sandbox.' });
}
