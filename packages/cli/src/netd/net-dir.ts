import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetworkSpec } from '@switchyard/core';
import { configError, parseNetConf } from '@switchyard/cni';

/** One network declared by a file in the net dir. */
export interface NetDeclaration {
  name: string;
  file: string;
  spec: NetworkSpec;
}

export interface NetDir {
  dir: string;
  /** In load order (file names sorted lexicographically), first declaration of each name only. */
  declarations: NetDeclaration[];
  /** Later files that declared a name again; ignored, as rkt does. */
  ignored: Array<{ name: string; file: string; keptFile: string }>;
}

const CONF_FILE = /\.(conf|json)$/;

/** Reads every `*.conf` / `*.json` file of the net dir; a missing dir declares nothing. Any bad file fails the load. */
export async function loadNetDir(dir: string): Promise<NetDir> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { dir, declarations: [], ignored: [] };
    if (code === 'ENOTDIR') throw configError(dir, undefined, 'is not a directory', 'Point --net-dir (or SWITCHYARD_NET_DIR) at a directory of network conf files.');
    throw configError(dir, undefined, `cannot be read (${code ?? String(e)})`, 'Check the permissions of the net dir, or point --net-dir elsewhere.');
  }
  // Byte order, not locale order: what `sort` in rkt (Go's sort.Strings) does.
  const files = names.filter((n) => CONF_FILE.test(n) && !n.startsWith('.')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const declarations: NetDeclaration[] = [];
  const ignored: NetDir['ignored'] = [];
  for (const name of files) {
    const file = join(dir, name);
    if (!(await stat(file)).isFile()) continue;
    const spec = parseNetConf(file, await readFile(file, 'utf8'));
    const kept = declarations.find((d) => d.name === spec.name);
    if (kept) ignored.push({ name: spec.name, file, keptFile: kept.file });
    else declarations.push({ name: spec.name, file, spec });
  }
  return { dir, declarations, ignored };
}
