import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliContext } from '../context.js';

/**
 * `cni install [--dir DIR]`: puts Switchyard's CNI plugins into a CNI bin directory, as small shell
 * wrappers that run this Node with the plugin entry and its name (a runtime execs them with a bare
 * environment, so neither depends on PATH). Each is written to a temporary name and renamed into place,
 * so a runtime never execs half a file. The state dir the plugins use is SWITCHYARD_STATE_DIR when the
 * runtime passes it, else /var/lib/switchyard, the CLI's default.
 */
export async function cniInstall(ctx: CliContext, opts: { dir?: string }): Promise<void> {
  const dir = opts.dir ?? '/opt/cni/bin';
  const { CNI_ENTRY, CNI_PLUGINS } = await import('@switchyard/cni');
  await ctx.requirePrivileges(`Installing CNI plugins into ${dir}`);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const installed: string[] = [];
  for (const name of CNI_PLUGINS) {
    const path = join(dir, name);
    const temp = `${path}.tmp-${process.pid}`;
    await writeFile(temp, `#!/bin/sh\n# Switchyard CNI plugin ${name} (written by switchyard cni install)\nexec ${quote(process.execPath)} ${quote(CNI_ENTRY)} --plugin ${name} "$@"\n`, { mode: 0o755 });
    await chmod(temp, 0o755);
    await rename(temp, path);
    installed.push(path);
  }
  ctx.result(`installed ${installed.length} CNI plugins into ${dir}: ${CNI_PLUGINS.join(', ')}\n`, { dir, plugins: installed });
}
