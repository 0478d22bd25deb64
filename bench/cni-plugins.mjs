// Switchyard's CNI plugins exec'd as a runtime execs them, beside the reference `bridge` plugin and
// `node -e 0` (Node's own start), alternating operation by operation in one run (BENCH_ONLY=cni-plugins).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summary } from './stats.mjs';
import { execCni, execPlugin } from './cni.mjs';

const root = new URL('..', import.meta.url).pathname;

const nodeStart = () =>
  new Promise((resolve, reject) => {
    // With the bare environment a runtime gives a plugin, as the plugins get it.
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: {} });
    child.on('error', reject);
    child.on('close', resolve);
  });

const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

export default async function bench({ log, count = 200 }) {
  const n = Math.min(count, 40);
  const dir = mkdtempSync(join(tmpdir(), 'swy-cnibench-'));
  const stateDir = join(dir, 'state');
  const bin = join(dir, 'bin');
  const install = spawnSync(process.execPath, [join(root, 'packages/cli/bin/switchyard.js'), 'cni', 'install', '--dir', bin], { env: { ...process.env, SWITCHYARD_STATE_DIR: stateDir }, encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`switchyard cni install failed: ${install.stdout}${install.stderr}`);
  const ours = { cniVersion: '1.0.0', name: 'sycnibench', type: 'switchyard-bridge', bridge: 'sycnib0', isGateway: true, ipam: { type: 'host-local', subnet: '10.93.0.0/16' } };
  const theirs = { cniVersion: '1.0.0', name: 'refcnibench', type: 'bridge', bridge: 'refcnib0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.94.0.0/16' }]], dataDir: join(dir, 'ref-ipam') } };
  const names = Array.from({ length: n }, (_, i) => i);
  spawnSync('ip', ['-batch', '-'], { input: names.flatMap((i) => [`netns add sycb${i}`, `netns add refcb${i}`]).join('\n') + '\n' });
  const envFor = (command, i) => ({ CNI_COMMAND: command, CNI_CONTAINERID: `sy${i}`, CNI_NETNS: `/run/netns/sycb${i}`, CNI_IFNAME: 'eth0', CNI_PATH: bin, SWITCHYARD_STATE_DIR: stateDir });
  const t = { add: [], refAdd: [], del: [], refDel: [], node: [], version: [] };

  log(`cni plugins: ${n} ADDs then ${n} DELs, switchyard-bridge, reference bridge and node -e 0 alternating…`);
  // The first exec of each warms the page cache (not measured).
  await execPlugin(join(bin, 'switchyard-bridge'), 'VERSION', { cniVersion: '1.0.0' }, { CNI_COMMAND: 'VERSION' });
  await nodeStart();
  for (const i of names) {
    t.add.push(await time(() => execPlugin(join(bin, 'switchyard-bridge'), 'ADD', ours, envFor('ADD', i))));
    t.refAdd.push(await time(() => execCni('bridge', 'ADD', theirs, { containerId: `ref${i}`, netns: `/run/netns/refcb${i}` })));
    t.node.push(await time(nodeStart));
    t.version.push(await time(() => execPlugin(join(bin, 'switchyard-bridge'), 'VERSION', { cniVersion: '1.0.0' }, { CNI_COMMAND: 'VERSION' })));
  }
  for (const i of names) {
    t.del.push(await time(() => execPlugin(join(bin, 'switchyard-bridge'), 'DEL', ours, envFor('DEL', i))));
    t.refDel.push(await time(() => execCni('bridge', 'DEL', theirs, { containerId: `ref${i}`, netns: `/run/netns/refcb${i}` })));
  }
  const s = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summary(v)]));
  spawnSync('ip', ['-batch', '-'], { input: names.flatMap((i) => [`netns del sycb${i}`, `netns del refcb${i}`]).join('\n') + '\n' });
  spawnSync(process.execPath, [join(root, 'packages/cli/bin/switchyard.js'), 'network', 'rm', 'sycnibench'], { env: { ...process.env, SWITCHYARD_STATE_DIR: stateDir } });
  spawnSync('ip', ['link', 'del', 'refcnib0']);
  rmSync(dir, { recursive: true, force: true });
  return [
    { name: 'CNI ADD, switchyard-bridge vs reference bridge, median', ours: s.add.median, peer: s.refAdd.median, unit: 'ms', lowerIsBetter: true, detail: { ours: s.add, peer: s.refAdd } },
    { name: 'CNI DEL, switchyard-bridge vs reference bridge, median', ours: s.del.median, peer: s.refDel.median, unit: 'ms', lowerIsBetter: true, detail: { ours: s.del, peer: s.refDel } },
    { name: 'CNI ADD, switchyard-bridge vs node -e 0 [peer: node]', ours: s.add.median, peer: s.node.median, unit: 'ms', lowerIsBetter: true },
    { name: 'CNI VERSION, switchyard-bridge vs node -e 0 [peer: node]', ours: s.version.median, peer: s.node.median, unit: 'ms', lowerIsBetter: true },
  ];
}
