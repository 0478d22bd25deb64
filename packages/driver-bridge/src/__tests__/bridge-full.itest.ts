import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { requireLab, kernelSnapshot, settledSnapshot, createLabSwitchyard } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import bridgeDriver from '../index.js';

// A Linux bridge takes at most 1023 ports. The connect that would add one more is refused with its own
// code and a sentence naming the limit, with both executors, and leaves nothing behind.
const ipBatch = (lines: string[]) => {
  const r = spawnSync('ip', ['-batch', '-'], { input: lines.join('\n') + '\n', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -batch failed: ${r.stderr}`);
};

const GROUP = 4242;

describe.each(['netlink', 'iproute2'] as const)('a full bridge (%s executor)', (executor) => {
  beforeAll(() => requireLab());

  test('the 1024th port is SWY_ERR_BRIDGE_FULL naming the limit; the veth and the address are rolled back', async () => {
    const sy = await createLabSwitchyard({ executor, drivers: [bridgeDriver], ipams: [hostLocal] });
    const fillers = Array.from({ length: 1022 }, (_, i) => `bf${executor[0]}${i}`);
    try {
      await sy.controller.createNetwork({ name: 'full', driver: 'bridge', options: { bridge: 'swyit-full' }, ipam: { ipv4: [{ subnet: '10.58.0.0/16' }] } });
      // 1022 ports taken by other links of the host (veth ends), then one sandbox: 1023, the most a bridge holds.
      // In a link group of their own, so one `ip link del group` removes them all in one kernel batch.
      ipBatch(fillers.flatMap((f) => [`link add ${f} group ${GROUP} type veth peer name ${f}p group ${GROUP}`, `link set ${f} master swyit-full`]));
      await sy.controller.createSandbox({ name: 'last-fit' });
      await sy.controller.connect('full', 'last-fit');
      await sy.controller.createSandbox({ name: 'one-too-many' });
      const before = await kernelSnapshot(['one-too-many']);
      const error = await sy.controller.connect('full', 'one-too-many').catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SWY_ERR_BRIDGE_FULL', kind: 'Unavailable' });
      expect((error as Error).message).toMatch(/Exchange full/);
      expect((error as { hint: string }).hint).toContain('at most 1023 ports');
      expect(await settledSnapshot(before, ['one-too-many'])).toEqual(before);
      expect((await sy.controller.inspectSandbox('one-too-many')).endpoints).toEqual([]);
      // Its address went back: only last-fit's is on disk.
      const files = readdirSync(`${sy.options.stateDir}/ipam/host-local/full`).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
      expect(files).toEqual(['10.58.0.2']);
      // One port freed, the connect succeeds.
      ipBatch([`link del ${fillers[0]}`]);
      await sy.controller.connect('full', 'one-too-many');
    } finally {
      spawnSync('ip', ['link', 'del', 'group', String(GROUP)]);
      await sy.dispose();
    }
    // Nothing of the test is left: no filler, no veth of the two sandboxes, no bridge.
    const left = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout;
    expect(left).not.toMatch(/bf[ni]\d+|swyit-full/);
  });
});
