import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSwitchyardError } from '../../errors/switchyard-error.js';
import { FileLock, lockHolders, withFileLock } from '../file-lock.js';
import { FileStore } from '../file-store.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'swy-file-lock-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileLock', () => {
  it('refuses a second holder of the same lock file until the first releases it', async () => {
    const path = join(dir, 'busy');
    const first = await FileLock.acquire(path);
    const err = await FileLock.acquire(path, { timeoutMs: 0 }).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_STORE_LOCK_TIMEOUT')).toBe(true);
    expect((err as Error).message).toContain(path);
    first.release();
    first.release();
    const second = await FileLock.acquire(path, { timeoutMs: 0 });
    second.release();
  });

  it('raises the caller-chosen code when it gives up', async () => {
    const path = join(dir, 'ipam');
    await withFileLock(path, async () => {
      const err = await FileLock.acquire(path, { timeoutMs: 0, timeoutCode: 'SWY_ERR_IPAM_LOCK_TIMEOUT' }).catch((e: unknown) => e);
      expect(isSwitchyardError(err, 'SWY_ERR_IPAM_LOCK_TIMEOUT')).toBe(true);
    });
  });

  it('lets shared holders in together and keeps an exclusive one out until all have gone', async () => {
    const path = join(dir, 'shared');
    const a = await FileLock.acquire(path, { mode: 'shared', timeoutMs: 0 });
    const b = await FileLock.acquire(path, { mode: 'shared', timeoutMs: 0 });
    const refused = await FileLock.acquire(path, { timeoutMs: 0 }).catch((e: unknown) => e);
    expect(isSwitchyardError(refused, 'SWY_ERR_STORE_LOCK_TIMEOUT')).toBe(true);
    a.release();
    const stillRefused = await FileLock.acquire(path, { timeoutMs: 0 }).catch((e: unknown) => e);
    expect(isSwitchyardError(stillRefused, 'SWY_ERR_STORE_LOCK_TIMEOUT')).toBe(true);
    b.release();
    (await FileLock.acquire(path, { timeoutMs: 0 })).release();
  });

  it('names the process holding a lock, once, when a waiter has waited past slowMs, and in the timeout error', async () => {
    const path = join(dir, 'held');
    const holder = spawn('flock', [path, 'sleep', '30'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10));
      const told: string[] = [];
      const err = await FileLock.acquire(path, { timeoutMs: 600, slowMs: 100, onWait: (h) => told.push(h) }).catch((e: unknown) => e);
      expect(told).toEqual([`pid ${holder.pid} (flock ${path} sleep 30)`]);
      expect((err as Error).message).toContain(`held by pid ${holder.pid} (flock ${path} sleep 30)`);
    } finally {
      holder.kill();
    }
  });

  it('a holder that removes the lock file of a deleted object does not let a waiter in on the old file', async () => {
    const path = join(dir, 'removed');
    const first = await FileLock.acquire(path);
    const waiting = FileLock.acquire(path);
    await new Promise((r) => setTimeout(r, 50));
    // Meanwhile a third process takes the (new) file the path names once the first removed it.
    first.releaseAndRemove();
    const second = await waiting;
    const third = await FileLock.acquire(path, { timeoutMs: 0 }).catch((e: unknown) => e);
    expect(isSwitchyardError(third, 'SWY_ERR_STORE_LOCK_TIMEOUT')).toBe(true);
    second.release();
  });

  it('reports a lock file it cannot create as SWY_ERR_STORE_IO with the path', async () => {
    const path = join(dir, 'no-such-dir', 'lock');
    const err = await FileLock.acquire(path).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_STORE_IO')).toBe(true);
    expect((err as Error).message).toContain(path);
  });
});

describe('FileStore lock scopes', () => {
  it('runs transactions on different objects side by side, and one on the same object after the other', async () => {
    const stateDir = join(dir, 'scoped');
    const a = new FileStore({ stateDir, durable: false, lockTimeoutMs: 0 });
    const b = new FileStore({ stateDir, durable: false, lockTimeoutMs: 0 });
    await a.transaction(
      async () => {
        // Another store instance stands for another process: its own locks, no in-process queue.
        await expect(b.transaction(async () => 'other sandbox', { exclusive: ['sandbox:two'], shared: ['network:n'] })).resolves.toBe('other sandbox');
        const same = await b.transaction(async () => 'same sandbox', { exclusive: ['sandbox:one'] }).catch((e: unknown) => e);
        expect(isSwitchyardError(same, 'SWY_ERR_STORE_LOCK_TIMEOUT')).toBe(true);
        const everything = await b.transaction(async () => 'store-wide').catch((e: unknown) => e);
        expect(isSwitchyardError(everything, 'SWY_ERR_STORE_LOCK_TIMEOUT')).toBe(true);
        const networkGone = await b.transaction(async () => 'delete n', { exclusive: ['network:n'] }).catch((e: unknown) => e);
        expect(isSwitchyardError(networkGone, 'SWY_ERR_STORE_LOCK_TIMEOUT')).toBe(true);
      },
      { exclusive: ['sandbox:one'], shared: ['network:n'] },
    );
    await expect(b.transaction(async () => 'after', { exclusive: ['sandbox:one'] })).resolves.toBe('after');
  });

  it('removes the lock file of an object deleted under its exclusive lock, and refuses keys that are not <word>:<name>', async () => {
    const stateDir = join(dir, 'pruned');
    const store = new FileStore({ stateDir, durable: false });
    await store.transaction((tx) => tx.put('sandboxes', 'gone', { name: 'gone' }), { exclusive: ['sandbox:gone'] });
    expect(existsSync(join(stateDir, 'locks', 'sandbox-gone'))).toBe(true);
    await store.transaction((tx) => tx.delete('sandboxes', 'gone'), { exclusive: ['sandbox:gone'] });
    expect(existsSync(join(stateDir, 'locks', 'sandbox-gone'))).toBe(false);
    const bad = await store.transaction(async () => undefined, { exclusive: ['sandbox:../../etc'] }).catch((e: unknown) => e);
    expect(isSwitchyardError(bad, 'SWY_ERR_STORE_IO')).toBe(true);
  });

  it('lockHolders is empty for a file nobody locks', async () => {
    const lock = await FileLock.acquire(join(dir, 'mine'));
    lock.release();
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync(join(dir, 'mine'), 'r');
    expect(lockHolders(fd)).toBe('');
    closeSync(fd);
  });
});
