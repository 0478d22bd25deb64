import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSwitchyardError } from '../../errors/switchyard-error.js';
import { FileLock, withFileLock } from '../file-lock.js';

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

  it('reports a lock file it cannot create as SWY_ERR_STORE_IO with the path', async () => {
    const path = join(dir, 'no-such-dir', 'lock');
    const err = await FileLock.acquire(path).catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'SWY_ERR_STORE_IO')).toBe(true);
    expect((err as Error).message).toContain(path);
  });
});
