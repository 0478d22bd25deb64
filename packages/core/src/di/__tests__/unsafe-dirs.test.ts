import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard } from '../create-switchyard.js';
import { isSwitchyardError } from '../../errors/switchyard-error.js';
import { untrustedDirectory } from '../../registry/plugin-location.js';
import { FakeKernel } from '../../testing/fake-kernel.js';

// The state dir and the plugin dir are where a root process takes its orders from: another user's,
// or one others can write, is refused at open, before anything in it is read.
let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'swy-unsafe-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const open = (stateDir: string, pluginDir?: string) => createSwitchyard({ stateDir, kernel: new FakeKernel(), appDir: false, ...(pluginDir ? { pluginDir } : {}) });

async function refusal(stateDir: string, pluginDir?: string): Promise<unknown> {
  return open(stateDir, pluginDir).then(
    async (sy) => {
      await sy.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

test('a state dir writable by everyone or by its group is refused with SWY_ERR_STATE_DIR_UNSAFE', async () => {
  const dir = join(root, 'state');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  const e = await refusal(dir);
  expect(isSwitchyardError(e, 'SWY_ERR_STATE_DIR_UNSAFE')).toBe(true);
  expect((e as Error).message).toBe(`The state directory ${dir} is not safe to use: ${dir} is writable by everyone (mode 777)`);
  chmodSync(dir, 0o770);
  expect(isSwitchyardError(await refusal(dir), 'SWY_ERR_STATE_DIR_UNSAFE')).toBe(true);
  chmodSync(dir, 0o700);
  expect(await refusal(dir)).toBeUndefined();
});

test("a state dir owned by another user, or under another user's directory, is refused", async () => {
  const dir = join(root, 'state');
  mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, 4242, 4242);
  expect((await refusal(dir)) as Error).toMatchObject({ code: 'SWY_ERR_STATE_DIR_UNSAFE', message: expect.stringContaining(`${dir} is owned by uid 4242`) as string });
  const parent = join(root, 'theirs');
  mkdirSync(join(parent, 'state'), { recursive: true, mode: 0o700 });
  chownSync(parent, 4242, 4242);
  expect(untrustedDirectory(join(parent, 'state'))).toBe(`${parent} is owned by uid 4242`);
  // Not there yet: it will be created 0700, but its parent must be safe already.
  expect(untrustedDirectory(join(parent, 'new'))).toBe(`${parent} is owned by uid 4242`);
});

test('a plugin dir others can write is refused with SWY_ERR_PLUGIN_UNTRUSTED; a missing one is fine', async () => {
  const state = join(root, 'state');
  const plugins = join(root, 'plugins');
  expect(await refusal(state, plugins)).toBeUndefined();
  mkdirSync(plugins, { mode: 0o777 });
  chmodSync(plugins, 0o777);
  expect(isSwitchyardError(await refusal(state, plugins), 'SWY_ERR_PLUGIN_UNTRUSTED')).toBe(true);
});
