import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SwitchyardError } from '../errors/switchyard-error.js';

/** Temp files are hidden and carry the writer's pid, so listings skip them and a sweep can recognise them. */
const TEMP_FILE = /^\..+\.json\.\d+\.[0-9a-f]+\.tmp$/;
const DOC_SUFFIX = '.json';

export function documentPath(dir: string, id: string): string {
  return join(dir, id + DOC_SUFFIX);
}

function tempPath(dir: string, id: string): string {
  return join(dir, `.${id}${DOC_SUFFIX}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function errnoOf(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

export function storeIoError(action: string, path: string, cause: unknown): SwitchyardError {
  const reason = errnoOf(cause) ?? (cause as Error).message;
  return new SwitchyardError('SWY_ERR_STORE_IO', `Could not ${action} ${path} (${reason})`, {
    hint: 'Check that the state directory is writable by this user, is a directory, and that its disk is neither full nor read-only.',
    cause,
    details: { path, errno: errnoOf(cause) },
  });
}

function parseDocument(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SwitchyardError('SWY_ERR_STORE_CORRUPT', `The state document ${path} is not valid JSON (${(cause as Error).message})`, {
      hint: `Move it aside (mv '${path}' '${path}.corrupt'): the store ignores files not ending in .json; then re-create the object it held.`,
      cause,
      details: { path },
    });
  }
}

/** The parsed document, or undefined when its file (or its collection directory) does not exist. */
export async function readDocument(path: string): Promise<unknown> {
  let text: string;
  try {
    // Synchronous on purpose: a small local file reads in tens of µs; the thread pool's round trips cost ~0.3 ms.
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw storeIoError('read', path, e);
  }
  return parseDocument(path, text);
}

/** Every committed document in `dir`, in file-name order; skips temp files and files deleted meanwhile. */
export async function readDocumentsIn(dir: string): Promise<unknown[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw storeIoError('list', dir, e);
  }
  const docs: unknown[] = [];
  for (const name of names.filter((n) => n.endsWith(DOC_SUFFIX) && !n.startsWith('.')).sort()) {
    const doc = await readDocument(join(dir, name));
    if (doc !== undefined) docs.push(doc);
  }
  return docs;
}

/** fsync on a directory makes the names created, renamed or removed in it durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function createTempFile(dir: string, path: string, durable: boolean) {
  try {
    return await open(path, 'wx', 0o600);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  // First document of this collection: make its directory (and, when durable, its name) first.
  await mkdir(dir, { mode: 0o700 }).catch((e: unknown) => {
    if (errnoOf(e) !== 'EEXIST') throw e;
  });
  if (durable) await syncDirectory(dirname(dir));
  return open(path, 'wx', 0o600);
}

/** Writes a temp file beside the document and renames it over, so readers see the old or the new text, never half. */
export async function writeDocumentAtomically(dir: string, id: string, text: string, durable: boolean): Promise<void> {
  const temp = tempPath(dir, id);
  const target = documentPath(dir, id);
  if (!durable) return writeVolatile(dir, temp, target, text);
  try {
    const handle = await createTempFile(dir, temp, durable);
    try {
      await handle.writeFile(text, 'utf8');
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    if (durable) await syncDirectory(dir);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw storeIoError('write', target, e);
  }
}

/** The same without fsync, synchronously: three system calls instead of several thread-pool round trips. */
function writeVolatile(dir: string, temp: string, target: string, text: string): void {
  try {
    try {
      writeFileSync(temp, text, { flag: 'wx', mode: 0o600 });
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(temp, text, { flag: 'wx', mode: 0o600 });
    }
    renameSync(temp, target);
  } catch (e) {
    try {
      unlinkSync(temp);
    } catch {
      // The temp file never existed.
    }
    throw storeIoError('write', target, e);
  }
}

/** Removes the document; absent is fine. */
export async function removeDocument(dir: string, id: string, durable: boolean): Promise<void> {
  const target = documentPath(dir, id);
  try {
    // Without fsync, synchronously: one system call instead of a thread-pool round trip.
    if (durable) await unlink(target);
    else unlinkSync(target);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return;
    throw storeIoError('delete', target, e);
  }
  try {
    if (durable) await syncDirectory(dir);
  } catch (e) {
    throw storeIoError('sync', dir, e);
  }
}

/** Creates the state directory, private to its owner, if it is missing (and, when durable, makes its name durable). */
export async function ensureStateDir(stateDir: string, durable: boolean): Promise<void> {
  try {
    const firstCreated = await mkdir(stateDir, { recursive: true, mode: 0o700 });
    if (firstCreated !== undefined && durable) await syncDirectory(dirname(firstCreated));
  } catch (e) {
    throw storeIoError('create the state directory', stateDir, e);
  }
}

/**
 * Deletes temp files left by writers that died mid-write: those whose writer's pid (in the name) is
 * not a running process, other than this one. Writers on other objects may be mid-write meanwhile.
 */
export async function removeStaleTempFiles(stateDir: string): Promise<string[]> {
  const removed: string[] = [];
  let entries;
  try {
    entries = await readdir(stateDir, { withFileTypes: true });
  } catch (e) {
    throw storeIoError('list', stateDir, e);
  }
  for (const entry of entries.filter((x) => x.isDirectory())) {
    const dir = join(stateDir, entry.name);
    const names = await readdir(dir).catch((e: unknown) => {
      throw storeIoError('list', dir, e);
    });
    for (const name of names.filter((n) => TEMP_FILE.test(n) && !writerAlive(n))) {
      await unlink(join(dir, name)).catch((e: unknown) => {
        if (errnoOf(e) !== 'ENOENT') throw storeIoError('remove the stale temp file', join(dir, name), e);
      });
      removed.push(join(dir, name));
    }
  }
  return removed;
}

/** Whether the process that wrote a temp file still runs (its pid is in the name; this process's own temp files are never in flight here). */
function writerAlive(tempName: string): boolean {
  const pid = Number(/\.json\.(\d+)\.[0-9a-f]+\.tmp$/.exec(tempName)?.[1]);
  if (!Number.isInteger(pid) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM';
  }
}
