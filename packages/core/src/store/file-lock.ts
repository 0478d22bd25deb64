import { closeSync, fstatSync, openSync, readFileSync, statSync, unlinkSync, constants as fsc } from 'node:fs';
import { createRequire } from 'node:module';
import { SwitchyardError } from '../errors/switchyard-error.js';

// flock(2) through koffi: interlocks with CNI host-local (which uses flock too) and costs microseconds.
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = 11;

type FlockFn = (fd: number, op: number) => number;
let flockFn: FlockFn | undefined;
let errnoFn: (() => number) | undefined;

function libc(): { flock: FlockFn; errno: () => number } {
  if (!flockFn || !errnoFn) {
    // Loaded lazily: CLI commands that take no lock never pay for it.
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(name: string): { func(sig: string): FlockFn };
      errno(): number;
    };
    flockFn = koffi.load('libc.so.6').func('int flock(int fd, int op)');
    errnoFn = () => koffi.errno();
  }
  return { flock: flockFn, errno: errnoFn };
}

/** How {@link FileLock.acquire} waits for a lock. */
export interface FileLockOptions {
  /** Give up after this long; default 60 s. */
  timeoutMs?: number;
  /** Error code to raise on timeout. */
  timeoutCode?: 'SWY_ERR_STORE_LOCK_TIMEOUT' | 'SWY_ERR_IPAM_LOCK_TIMEOUT';
  /** `shared`: any number of shared holders, no exclusive one (flock LOCK_SH). Default exclusive. */
  mode?: 'shared' | 'exclusive';
  /** Called once when the lock is still busy after `slowMs` (default 1 s), naming who holds it. */
  onWait?: (holders: string) => void;
  /** Milliseconds of waiting before `onWait` is called; default 1000. */
  slowMs?: number;
}

/**
 * The pids holding a flock on the file with this device and inode, from /proc/locks (flock records the
 * opener's pid; processes waiting for the lock are not holders). Empty when /proc/locks cannot tell.
 */
export function flockHolderPids(file: {
  /** The file's device (`stat(…, { bigint: true }).dev`). */
  dev: bigint;
  /** The file's inode. */
  ino: bigint;
}): string[] {
  let table: string;
  try {
    table = readFileSync('/proc/locks', 'utf8');
  } catch {
    return [];
  }
  const major = ((file.dev >> 8n) & 0xfffn) | ((file.dev >> 32n) & ~0xfffn);
  const minor = (file.dev & 0xffn) | ((file.dev >> 12n) & ~0xffn);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${file.ino}`;
  const pids = new Set<string>();
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    // "1: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF"; waiters carry "->" and are not holders.
    if (f[1] === 'FLOCK' && f[2] !== '->' && f[5] === id && f[4] !== undefined) pids.add(f[4]);
  }
  return [...pids];
}

/**
 * Who holds a flock on the file open as `fd`: "pid N (command line)" for each, from /proc/locks.
 * Empty when /proc/locks cannot tell.
 */
export function lockHolders(fd: number): string {
  return flockHolderPids(fstatSync(fd, { bigint: true }))
    .map((pid) => `pid ${pid} (${commandOf(pid)})`)
    .join(', ');
}

function commandOf(pid: string): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // node /…/bin/switchyard.js connect a b → switchyard connect a b
    const script = argv.findIndex((a) => /switchyard(\.js)?$/.test(a));
    const shown = script >= 0 ? ['switchyard', ...argv.slice(script + 1)] : argv;
    const text = shown.join(' ');
    return text.length > 120 ? text.slice(0, 117) + '...' : text;
  } catch {
    return 'exited';
  }
}

function samePath(fd: number, path: string): boolean {
  try {
    return statSync(path).ino === fstatSync(fd).ino;
  } catch {
    return false;
  }
}

function openLockFile(path: string): number {
  try {
    return openSync(path, fsc.O_RDWR | fsc.O_CREAT, 0o600);
  } catch (cause) {
    const errno = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new SwitchyardError('SWY_ERR_STORE_IO', `Could not open the lock file ${path} (${errno})`, {
      hint: 'Check that its directory exists and is writable by this user.',
      cause,
      details: { path, errno },
    });
  }
}

/** An exclusive flock(2) on a file, taken without blocking the event loop (non-blocking tries with back-off). */
export class FileLock {
  private constructor(
    /** The lock file's path. */
    readonly path: string,
    private fd: number | undefined,
  ) {}

  /**
   * Opens (creating it if needed) and locks `path`, retrying with back-off until `options.timeoutMs`; throws a
   * SwitchyardError with `options.timeoutCode` (default SWY_ERR_STORE_LOCK_TIMEOUT) naming the holders on timeout.
   */
  static async acquire(path: string, options: FileLockOptions = {}): Promise<FileLock> {
    const { flock, errno } = libc();
    const started = Date.now();
    const deadline = started + (options.timeoutMs ?? 60_000);
    const op = (options.mode === 'shared' ? LOCK_SH : LOCK_EX) | LOCK_NB;
    let told = options.onWait === undefined;
    let wait = 0.2;
    let fd = openLockFile(path);
    for (;;) {
      if (flock(fd, op) === 0) {
        // The holder before us may have removed the file (its object was deleted): a lock on the old
        // inode excludes no one, so start over on the file the path names now.
        if (samePath(fd, path)) return new FileLock(path, fd);
        closeSync(fd);
        fd = openLockFile(path);
        continue;
      }
      const err = errno();
      if (err !== EWOULDBLOCK) {
        closeSync(fd);
        throw new SwitchyardError('SWY_ERR_STORE_IO', `Could not lock ${path} (errno ${err})`, {
          hint: 'Check that the state directory is on a local file system that supports flock.',
        });
      }
      if (Date.now() > deadline) {
        const holders = lockHolders(fd);
        closeSync(fd);
        throw new SwitchyardError(options.timeoutCode ?? 'SWY_ERR_STORE_LOCK_TIMEOUT', `Timed out waiting for the lock on ${path}${holders ? `, held by ${holders}` : ''}`, {
          hint: 'Another Switchyard (or CNI) process holds it; let it finish, or stop it if it hangs.',
          details: { path, holders },
        });
      }
      if (!told && Date.now() - started >= (options.slowMs ?? 1000)) {
        told = true;
        const holders = lockHolders(fd);
        options.onWait?.(holders || 'another process');
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 10);
    }
  }

  /** Removes the lock file, then releases the lock (for a deleted object; waiters notice and retry). */
  releaseAndRemove(): void {
    if (this.fd === undefined) return;
    try {
      unlinkSync(this.path);
    } catch {
      // Already gone.
    }
    this.release();
  }

  /** Releases the lock; safe to call twice. */
  release(): void {
    if (this.fd === undefined) return;
    libc().flock(this.fd, LOCK_UN);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Runs fn holding the lock on `path`. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, options?: FileLockOptions): Promise<T> {
  const lock = await FileLock.acquire(path, options);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
