import { closeSync, openSync, constants as fsc } from 'node:fs';
import { createRequire } from 'node:module';
import { SwitchyardError } from '../errors/switchyard-error.js';

// flock(2) through koffi: interlocks with CNI host-local (which uses flock too) and costs microseconds.
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

export interface FileLockOptions {
  /** Give up after this long; default 60 s. */
  timeoutMs?: number;
  /** Error code to raise on timeout. */
  timeoutCode?: 'SWY_ERR_STORE_LOCK_TIMEOUT' | 'SWY_ERR_IPAM_LOCK_TIMEOUT';
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
    readonly path: string,
    private fd: number | undefined,
  ) {}

  static async acquire(path: string, options: FileLockOptions = {}): Promise<FileLock> {
    const { flock, errno } = libc();
    const fd = openLockFile(path);
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    let wait = 0.2;
    for (;;) {
      if (flock(fd, LOCK_EX | LOCK_NB) === 0) return new FileLock(path, fd);
      const err = errno();
      if (err !== EWOULDBLOCK) {
        closeSync(fd);
        throw new SwitchyardError('SWY_ERR_STORE_IO', `Could not lock ${path} (errno ${err})`, {
          hint: 'Check that the state directory is on a local file system that supports flock.',
        });
      }
      if (Date.now() > deadline) {
        closeSync(fd);
        throw new SwitchyardError(options.timeoutCode ?? 'SWY_ERR_STORE_LOCK_TIMEOUT', `Timed out waiting for the lock on ${path}`, {
          hint: 'Another Switchyard (or CNI) process holds it; find it with `fuser ' + path + '` and let it finish.',
        });
      }
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 10);
    }
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
