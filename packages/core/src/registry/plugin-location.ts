import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Why a plugin's files cannot be trusted, or undefined when they can: the package.json and every
 * directory from the package up to `/` must be owned by root or by this process's user, and not
 * writable by everyone (a sticky directory such as /tmp excepted: others cannot replace what is in
 * it). Anyone who can write there could put code in front of a root process; this is checked before
 * any of the package's code is imported.
 */
export function untrustedLocation(packageJsonPath: string): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const real = realpathSync(packageJsonPath);
  const file = statSync(real);
  if (file.uid !== 0 && file.uid !== uid) return `${real} is owned by uid ${file.uid}`;
  if (file.mode & 0o002) return `${real} is writable by everyone`;
  return untrustedAncestors(dirname(real), uid);
}

/**
 * Why a directory Switchyard keeps state or plugins in cannot be trusted, or undefined when it can
 * (or does not exist yet: it will be created 0700): it must be owned by root or this process's user
 * and writable by no one else, and so must every directory above it (sticky ones such as /tmp excepted).
 */
export function untrustedDirectory(path: string): string | undefined {
  const uid = process.getuid?.() ?? 0;
  if (!existsSync(path)) return existsSync(dirname(path)) && dirname(path) !== path ? untrustedAncestors(realpathSync(dirname(path)), uid) : undefined;
  const real = realpathSync(path);
  const st = statSync(real);
  if (st.uid !== 0 && st.uid !== uid) return `${real} is owned by uid ${st.uid}`;
  if (st.mode & 0o022) return `${real} is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(st.mode & 0o7777).toString(8)})`;
  return real === dirname(real) ? undefined : untrustedAncestors(dirname(real), uid);
}

function untrustedAncestors(from: string, uid: number): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const st = statSync(dir);
    if (st.uid !== 0 && st.uid !== uid) return `${dir} is owned by uid ${st.uid}`;
    if (st.mode & 0o002 && !(st.mode & 0o1000)) return `${dir} is writable by everyone`;
    if (dir === dirname(dir)) return undefined;
  }
}

/** The package's package.json directly in `<dir>/node_modules`, never in a parent's node_modules (where anyone may have written one). */
export function packageJsonIn(dir: string, name: string): string | undefined {
  const candidate = join(dir, 'node_modules', name, 'package.json');
  return existsSync(candidate) ? realpathSync(candidate) : undefined;
}
