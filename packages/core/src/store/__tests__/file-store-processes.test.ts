import { spawn } from 'node:child_process';
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FileStore } from '../file-store.js';

// Child processes run the built core, so they exercise the real FileStore in real separate processes.
const here = dirname(fileURLToPath(import.meta.url));
const coreDir = join(here, '../../..');
const distIndex = join(coreDir, 'dist/index.js');
const worker = join(here, 'fixtures/store-worker.mjs');

/** Throws a clear error unless the core has been built (the children import dist/, not the sources). */
function assertBuiltCoreExists(): void {
  for (const built of [distIndex, join(coreDir, 'dist/store/file-store.js')]) {
    if (!existsSync(built)) {
      throw new Error(`${built} is missing: these tests run the built core in child processes; run \`npx tsc -b\` in /work/main first.`);
    }
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function runWorker(args: string[], onStdout?: (text: string, kill: () => void) => void): Promise<Exit> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not needed by the child
  const child = spawn(process.execPath, [worker, pathToFileURL(distIndex).href, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => onStdout?.(d.toString(), () => child.kill('SIGKILL')));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

let root: string;

beforeAll(async () => {
  assertBuiltCoreExists();
  root = await mkdtemp(join(tmpdir(), 'swy-store-procs-'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('FileStore shared by several processes', () => {
  it('loses no update when 4 processes each run 50 read-increment-write transactions on one counter', async () => {
    const stateDir = join(root, 'counter');
    const workers = ['w1', 'w2', 'w3', 'w4'];
    const exits = await Promise.all(workers.map((name) => runWorker(['increment', stateDir, name, '50'])));
    for (const exit of exits) expect(exit).toEqual({ code: 0, signal: null, stderr: '' });

    const store = new FileStore({ stateDir });
    expect(await store.get('meta', 'counter')).toEqual({ n: 200 });
    const endpoints = await store.list<{ worker: string; i: number }>('endpoints');
    expect(endpoints).toHaveLength(200);
    for (const name of workers) {
      const mine = endpoints
        .filter((e) => e.worker === name)
        .map((e) => e.i)
        .sort((a, b) => a - b);
      expect(mine).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
    await store.close();
  });

  it('leaves a whole document, old or new, when a writer process is killed while rewriting it', async () => {
    const stateDir = join(root, 'killed');
    const metaDir = join(stateDir, 'meta');
    let killedMidWrite = 0;
    for (let round = 0; round < 3; round += 1) {
      let watcher: FSWatcher | undefined;
      // After one complete write, kill the writer the moment it touches the collection again:
      // it is then inside its next 1 MiB write.
      const exit = await runWorker(['rewrite-forever', stateDir, 'writer'], (text, kill) => {
        if (!watcher && text.includes('wrote')) watcher = watch(metaDir, kill);
      });
      watcher?.close();
      expect({ signal: exit.signal, stderr: exit.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
      if ((await readdir(metaDir)).some((name) => name.endsWith('.tmp'))) killedMidWrite += 1;

      const store = new FileStore({ stateDir });
      const doc = await store.get<{ version: number; filler: string; end: number }>('meta', 'big');
      expect(doc).toBeDefined();
      expect(doc!.end).toBe(doc!.version);
      expect(doc!.filler).toHaveLength(1 << 20);
      await store.transaction(async () => undefined);
      expect(await readdir(metaDir)).toEqual(['big.json']);
      await store.close();
    }
    // Proves the scenario happened: at least one kill left the writer's temp file behind.
    expect(killedMidWrite).toBeGreaterThan(0);
  });
});
