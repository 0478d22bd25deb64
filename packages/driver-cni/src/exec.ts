import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { SwitchyardError } from '@switchyard/core';

/** What a plugin process returned. */
export interface PluginOutput {
  /** Everything the plugin wrote on stdout (its result or error JSON). */
  stdout: string;
  /** Everything it wrote on stderr (its log). */
  stderr: string;
  /** Its exit status; 0 is success. */
  exitCode: number;
}

/** Runs a plugin binary with an environment and stdin (a port, so tests can watch or replace it). */
export type PluginRunner = (path: string, env: Record<string, string>, stdin: string) => Promise<PluginOutput>;

/** The default runner: spawns the binary with the environment libcni gives (this process's plus CNI_*). */
export const spawnPlugin: PluginRunner = (path, env, stdin) =>
  new Promise((resolve, reject) => {
    const child = spawn(path, [], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), exitCode: code ?? (signal ? 128 : 1) }));
    // A plugin that exits without reading its stdin closes the pipe: that is its answer, not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });

/** The CNI path as a list of directories (`:`-separated, empty entries dropped). */
export function splitPath(cniPath: string): string[] {
  return cniPath.split(':').filter((d) => d.length > 0);
}

/** The first executable file named `type` in the CNI path (libcni's FindInPath). */
export function findPlugin(type: string, dirs: readonly string[]): string {
  for (const dir of dirs) {
    const candidate = join(dir, type);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; next directory.
    }
  }
  throw new SwitchyardError('SWY_ERR_CNI_PLUGIN_NOT_FOUND', `CNI plugin "${type}" is in no directory of the CNI path`, {
    hint: `Install it (Debian: apt-get install containernetworking-plugins) or point cniPath at its directory; searched ${dirs.join(', ') || '(nothing)'}.`,
    details: { plugin: type, cniPath: [...dirs] },
  });
}
