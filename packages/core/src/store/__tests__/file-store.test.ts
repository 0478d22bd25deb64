import { mkdtemp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSwitchyardError, type SwitchyardError } from '../../errors/switchyard-error.js';
import { FileStore } from '../file-store.js';
import { describeStoreContract } from './store-contract.js';

let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'swy-file-store-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh, not yet existing state directory under this run's temp root. */
function freshStateDir(): string {
  counter += 1;
  return join(root, `state-${counter}`, 'nested');
}

async function rejection(p: Promise<unknown>): Promise<SwitchyardError> {
  const outcome = await p.then(
    () => new Error('expected the call to reject, but it resolved'),
    (e: unknown) => e,
  );
  if (!isSwitchyardError(outcome)) throw outcome;
  return outcome;
}

/** Every file under dir, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describeStoreContract('FileStore (durable)', () => new FileStore({ stateDir: freshStateDir() }));
describeStoreContract('FileStore (not durable)', () => new FileStore({ stateDir: freshStateDir(), durable: false }));

describe('FileStore on disk', () => {
  it('keeps one JSON file per document under <stateDir>/<collection>/<id>.json, plugin collections as plugin-<name>', async () => {
    const stateDir = freshStateDir();
    const store = new FileStore({ stateDir });
    await store.transaction(async (tx) => {
      await tx.put('networks', 'blue', { name: 'blue' });
      await tx.put('plugin:bridge', 'br0', { bridge: 'br0' });
    });
    expect(await filesUnder(stateDir)).toEqual(['lock', 'networks/blue.json', 'plugin-bridge/br0.json']);
    expect(JSON.parse(await readFile(join(stateDir, 'networks/blue.json'), 'utf8'))).toEqual({ name: 'blue' });
    await store.close();
  });

  it('creates a missing state directory readable only by its owner on the first transaction', async () => {
    const stateDir = freshStateDir();
    const store = new FileStore({ stateDir });
    expect(await store.list('networks')).toEqual([]);
    await store.transaction(async () => undefined);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
    await store.close();
  });

  it('writes no file anywhere when an id or collection is rejected', async () => {
    const stateDir = freshStateDir();
    const store = new FileStore({ stateDir });
    await store.transaction(async (tx) => {
      await tx.put('networks', '../../outside', {}).catch(() => undefined);
      await tx.put('plugin:../x', 'id', {}).catch(() => undefined);
      await tx.put('networks', 'a/b', {}).catch(() => undefined);
    });
    expect(await filesUnder(join(stateDir, '..'))).toEqual(['nested/lock']);
    await store.close();
  });

  it('keeps documents across a restart (a new FileStore on the same directory)', async () => {
    const stateDir = freshStateDir();
    const first = new FileStore({ stateDir });
    await first.transaction(async (tx) => {
      await tx.put('networks', 'blue', { name: 'blue' });
      await tx.put('sandboxes', 'c1', { netns: '/run/netns/c1' });
    });
    await first.close();
    const second = new FileStore({ stateDir });
    expect(await second.get('networks', 'blue')).toEqual({ name: 'blue' });
    expect(await second.list('sandboxes')).toEqual([{ netns: '/run/netns/c1' }]);
    await second.close();
  });

  it('reports a document that does not parse as SWY_ERR_STORE_CORRUPT naming the file, and moving it aside recovers', async () => {
    const stateDir = freshStateDir();
    const store = new FileStore({ stateDir });
    await store.transaction((tx) => tx.put('networks', 'good', { ok: true }));
    const broken = join(stateDir, 'networks', 'broken.json');
    await writeFile(broken, '{"name": "bro');

    for (const attempt of [store.get('networks', 'broken'), store.list('networks')]) {
      const err = await rejection(attempt);
      expect(err.code).toBe('SWY_ERR_STORE_CORRUPT');
      expect(err.message).toContain(broken);
      expect(err.hint).toContain('Move it aside');
    }

    await rename(broken, broken + '.corrupt');
    expect(await store.list('networks')).toEqual([{ ok: true }]);
    await store.close();
  });

  it('never shows half a document after a writer died mid-write, and sweeps its temp file on the next open', async () => {
    const stateDir = freshStateDir();
    const before = new FileStore({ stateDir });
    await before.transaction((tx) => tx.put('networks', 'blue', { name: 'blue', subnet: '10.1.0.0/24' }));
    await before.close();
    // What a writer killed between write and rename leaves: a partial temp file beside the document.
    const temp = join(stateDir, 'networks', '.blue.json.4242.deadbeef.tmp');
    await writeFile(temp, '{"name": "blue", "sub');
    const orphan = join(stateDir, 'networks', '.green.json.4243.0badf00d.tmp');
    await writeFile(orphan, '{"na');

    const after = new FileStore({ stateDir });
    expect(await after.get('networks', 'blue')).toEqual({ name: 'blue', subnet: '10.1.0.0/24' });
    expect(await after.get('networks', 'green')).toBeUndefined();
    expect(await after.list('networks')).toEqual([{ name: 'blue', subnet: '10.1.0.0/24' }]);
    await after.transaction(async () => undefined);
    expect(await readdir(join(stateDir, 'networks'))).toEqual(['blue.json']);
    await after.close();
  });

  it('reports file-system failures as SWY_ERR_STORE_IO with the path', async () => {
    const stateDir = freshStateDir();
    await mkdir(stateDir, { recursive: true });
    await writeFile(join(stateDir, 'networks'), 'a file where the collection directory belongs');
    const store = new FileStore({ stateDir });

    const writeErr = await rejection(store.transaction((tx) => tx.put('networks', 'blue', {})));
    expect(writeErr.code).toBe('SWY_ERR_STORE_IO');
    expect(writeErr.message).toContain(join(stateDir, 'networks', 'blue.json'));
    const readErr = await rejection(store.get('networks', 'blue'));
    expect(readErr.code).toBe('SWY_ERR_STORE_IO');
    expect(readErr.message).toContain(join(stateDir, 'networks'));
    await store.close();

    const underAFile = new FileStore({ stateDir: join(stateDir, 'networks', 'state') });
    const openErr = await rejection(underAFile.transaction(async () => undefined));
    expect(openErr.code).toBe('SWY_ERR_STORE_IO');
    expect(openErr.message).toContain(join(stateDir, 'networks', 'state'));
    await underAFile.close();
  });

  it('interlocks two FileStore instances in one process through the lock file', async () => {
    const stateDir = freshStateDir();
    const a = new FileStore({ stateDir });
    const b = new FileStore({ stateDir });
    const order: string[] = [];
    let bDone: Promise<void> | undefined;
    await a.transaction(async (tx) => {
      order.push('a holds the lock');
      bDone = b.transaction(async () => {
        order.push('b got the lock');
      });
      // Give b many chances to run: it must not while a holds the lock.
      for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
      await tx.put('meta', 'm', { by: 'a' });
      order.push('a releases');
    });
    await bDone;
    expect(order).toEqual(['a holds the lock', 'a releases', 'b got the lock']);
    await a.close();
    await b.close();
  });

  it('lets another instance take the lock right after a transaction that threw', async () => {
    const stateDir = freshStateDir();
    const a = new FileStore({ stateDir });
    await expect(a.transaction(async () => Promise.reject(new Error('fails')))).rejects.toThrow('fails');
    const b = new FileStore({ stateDir, lockTimeoutMs: 0 });
    await expect(b.transaction(async () => 'b ran')).resolves.toBe('b ran');
    await a.close();
    await b.close();
  });

  it('takes its default directory from SWITCHYARD_STATE_DIR, else /var/lib/switchyard', () => {
    expect(FileStore.defaultStateDir({ SWITCHYARD_STATE_DIR: '/srv/swy' })).toBe('/srv/swy');
    expect(FileStore.defaultStateDir({ SWITCHYARD_STATE_DIR: '' })).toBe('/var/lib/switchyard');
    expect(FileStore.defaultStateDir({})).toBe('/var/lib/switchyard');
  });
});

describe('FileStore durability policy', () => {
  it('fsyncs lasting collections and leaves reboot-scoped ones (sandboxes, endpoints, intents) to the page cache', () => {
    const store = new FileStore({ stateDir: freshStateDir() });
    expect(['networks', 'meta', 'plugin:x', 'sandboxes', 'endpoints', 'intents'].map((c) => [c, store.syncs(c as never)])).toEqual([
      ['networks', true],
      ['meta', true],
      ['plugin:x', true],
      ['sandboxes', false],
      ['endpoints', false],
      ['intents', false],
    ]);
  });

  it('fsyncs nothing when not durable, and everything when no collection is volatile', () => {
    expect(new FileStore({ stateDir: freshStateDir(), durable: false }).syncs('networks')).toBe(false);
    expect(new FileStore({ stateDir: freshStateDir(), volatileCollections: [] }).syncs('sandboxes')).toBe(true);
  });
});
