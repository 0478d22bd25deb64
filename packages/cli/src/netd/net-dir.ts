import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isSwitchyardError, SwitchyardError, type NetworkSpec } from '@switchyard/core';
import { configError, parseNetConf } from '@switchyard/cni';

/** One network declared by a file in the net dir. */
export interface NetDeclaration {
  name: string;
  file: string;
  /** What the file declares; absent when the file is bad, and `error` says why (an error for this network only). */
  spec?: NetworkSpec;
  error?: SwitchyardError;
  /** Standard keys the file carries that Switchyard accepts but does not apply, each saying what happens instead. */
  warnings: string[];
}

export interface NetDir {
  dir: string;
  /** In load order (file names sorted lexicographically), first declaration of each name only. */
  declarations: NetDeclaration[];
  /** Later files that declared a name again; ignored, as rkt and libcni do. */
  ignored: Array<{ name: string; file: string; keptFile: string }>;
  /** Files that declare no network name at all (not JSON, no `name`): reported by `doctor` and `network ls`, used by nobody. */
  broken: Array<{ file: string; error: SwitchyardError }>;
}

/** What libcni reads: single configs (`.conf`, `.json`) and lists (`.conflist`). */
const CONF_FILE = /\.(conf|conflist|json)$/;

/** The network name a file's text declares, when it declares one, however bad the rest. */
function declaredName(text: string): string | undefined {
  try {
    const raw: unknown = JSON.parse(text);
    const name = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>).name : undefined;
    return typeof name === 'string' && name !== '' ? name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads every conf and conflist file of the net dir; a missing dir declares nothing. A bad file is an error
 * for the network it names (raised when that network is used), or a broken file when it names none; it never
 * fails the load, so one bad file does not stop every command.
 */
export async function loadNetDir(dir: string): Promise<NetDir> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { dir, declarations: [], ignored: [], broken: [] };
    if (code === 'ENOTDIR') throw configError(dir, undefined, 'is not a directory', 'Point --net-dir (or SWITCHYARD_NET_DIR) at a directory of network conf files.');
    throw configError(dir, undefined, `cannot be read (${code ?? String(e)})`, 'Check the permissions of the net dir, or point --net-dir elsewhere.');
  }
  // Byte order, not locale order: what `sort` in rkt and libcni (Go's sort.Strings) does.
  const files = names.filter((n) => CONF_FILE.test(n) && !n.startsWith('.')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const loaded: NetDir = { dir, declarations: [], ignored: [], broken: [] };
  for (const base of files) {
    const file = join(dir, base);
    let text: string;
    try {
      if (!(await stat(file)).isFile()) continue;
      text = await readFile(file, 'utf8');
    } catch (e) {
      loaded.broken.push({ file, error: configError(file, undefined, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'Check the permissions of the file.') });
      continue;
    }
    const warnings: string[] = [];
    let declaration: NetDeclaration;
    try {
      const spec = parseNetConf(file, text, warnings);
      declaration = { name: spec.name, file, spec, warnings };
    } catch (e) {
      const error = isSwitchyardError(e) ? e : new SwitchyardError('SWY_ERR_CONFIG_INVALID', `${file}: ${String(e)}`, { hint: 'Fix the file or move it out of the net dir.' });
      const name = declaredName(text);
      if (name === undefined) {
        loaded.broken.push({ file, error });
        continue;
      }
      declaration = { name, file, error, warnings };
    }
    const kept = loaded.declarations.find((d) => d.name === declaration.name);
    if (kept) loaded.ignored.push({ name: declaration.name, file, keptFile: kept.file });
    else loaded.declarations.push(declaration);
  }
  return loaded;
}
