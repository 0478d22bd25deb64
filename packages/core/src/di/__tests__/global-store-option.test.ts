import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createSwitchyard } from '../create-switchyard.js';
import { FakeKernel, MemoryCluster, MemoryStore } from '../../testing/index.js';

const packages = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
// The CLI package depends on @switchyard/store-etcd: an application directory that has it.
const appWithEtcd = join(packages, 'cli');

/**
 * createSwitchyard from core's build in a plain node process (jest's resolver would map the package name
 * to its sources wherever the application is), with the { etcd } form and the given application dir.
 */
function openInNode(appDir: string, stateDir: string): { code?: string; hostName?: string; kind?: string } {
  const script = `
    const core = await import(${JSON.stringify(pathToFileURL(join(packages, 'core', 'dist', 'index.js')).href)});
    try {
      const sy = await core.createSwitchyard({ stateDir: ${JSON.stringify(stateDir)}, appDir: ${JSON.stringify(appDir)}, kernel: { close() {} }, store: new core.MemoryStore(), recover: false,
        globalStore: { etcd: { endpoints: 'http://127.0.0.1:9', hostName: 'node7' } } });
      console.log(JSON.stringify({ hostName: sy.globalStore.hostName, kind: sy.globalStore.constructor.name }));
      await sy.close();
    } catch (e) { console.log(JSON.stringify({ code: e.code })); }`;
  // pnpm's bin shims set NODE_PATH to every package of the workspace store: not what an application sees.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { code?: string; hostName?: string; kind?: string };
}

describe('createSwitchyard({ globalStore })', () => {
  let stateDir: string;
  beforeEach(() => (stateDir = mkdtempSync(join(tmpdir(), 'swy-gs-'))));
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('takes a GlobalStore object, hands it to the instance and closes it with it', async () => {
    const store = new MemoryCluster().storeFor('h1');
    const sy = await createSwitchyard({ stateDir, kernel: new FakeKernel(), store: new MemoryStore(), globalStore: store, recover: false });
    expect(sy.globalStore).toBe(store);
    await sy.close();
    await expect(store.get('networks', 'x')).rejects.toMatchObject({ code: 'SWY_ERR_STORE_IO' });
  });

  it("opens @switchyard/store-etcd from the application's dependencies for { etcd }, without contacting etcd yet", () => {
    expect(openInNode(appWithEtcd, stateDir)).toEqual({ hostName: 'node7', kind: 'EtcdStore' });
  });

  it('refuses { etcd } with SWY_ERR_GLOBAL_STORE_MISSING where the application does not have the package', () => {
    expect(openInNode(stateDir, stateDir)).toEqual({ code: 'SWY_ERR_GLOBAL_STORE_MISSING' });
  });
});
