import { closeSync, linkSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Directory (under the data dir, outside every network directory CNI walks) for files still being written. */
export const SCRATCH_DIR_NAME = '.switchyard-tmp';
/** A temp file this old is stale even if its pid is alive again (pid reuse). */
const STALE_AFTER_MS = 10 * 60_000;
// link(2) is refused on some file systems; those fall back to CNI's own create-then-write.
const NO_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);
// Shared by every ScratchDir of this process, so temp names never repeat within it.
let counter = 0;

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === 'EPERM';
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (codeOf(e) !== 'ENOENT') throw e;
  }
}

/**
 * Writes address files whole before they get their final name, so a crash never leaves an empty or half-written one:
 * the file appears with link(2), which fails with EEXIST (O_EXCL, but with the content already in place).
 * Temp names are `<pid>.<time>-<n>` so stale ones from dead processes can be removed.
 */
export class ScratchDir {
  readonly path: string;
  private cleaned = false;

  constructor(dataDir: string) {
    this.path = join(dataDir, SCRATCH_DIR_NAME);
  }

  /** Creates the directory; on first use, removes temp files left by crashed processes. */
  ensure(): void {
    mkdirSync(this.path, { recursive: true, mode: 0o700 });
    if (this.cleaned) return;
    this.removeStale();
    this.cleaned = true;
  }

  /** Removes temp files whose process is gone (or that are too old); returns their names. */
  removeStale(now = Date.now()): string[] {
    const removed = [];
    // Our own pid's temps are stale too: each is written and linked in one synchronous step, so none is in flight now.
    for (const name of readdirSync(this.path)) {
      const pid = Number(name.split('.')[0]);
      const path = join(this.path, name);
      let stale = !Number.isInteger(pid) || pid <= 0 || pid === process.pid || !pidAlive(pid);
      if (!stale) {
        try {
          stale = now - statSync(path).mtimeMs > STALE_AFTER_MS;
        } catch {
          continue;
        }
      }
      if (stale) {
        unlinkQuietly(path);
        removed.push(name);
      }
    }
    return removed;
  }

  private writeTemp(content: string, mode: number): string {
    const path = join(this.path, `${process.pid}.${Date.now().toString(36)}-${(counter++).toString(36)}`);
    writeFileSync(path, content, { mode, flag: 'wx' });
    return path;
  }

  /** Creates `target` holding `content` in one step; false when `target` already exists. */
  createExclusive(target: string, content: string, mode = 0o600): boolean {
    const temp = this.writeTemp(content, mode);
    try {
      linkSync(temp, target);
      return true;
    } catch (e) {
      if (codeOf(e) === 'EEXIST') return false;
      if (NO_LINK.has(codeOf(e) ?? '')) return createThenWrite(target, content, mode);
      throw e;
    } finally {
      unlinkQuietly(temp);
    }
  }
}

/** CNI's way (O_EXCL create, then write), used only where link(2) is not available. */
function createThenWrite(target: string, content: string, mode: number): boolean {
  let fd: number;
  try {
    fd = openSync(target, 'wx', mode);
  } catch (e) {
    if (codeOf(e) === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, content);
  } catch (e) {
    closeSync(fd);
    unlinkQuietly(target);
    throw e;
  }
  closeSync(fd);
  return true;
}

export { codeOf, unlinkQuietly };
