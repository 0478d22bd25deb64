// Switchyard's CNI plugins exec'd as a runtime execs them, beside the reference `bridge` plugin and
// `node -e 0` (Node's own start), alternating operation by operation in one run (BENCH_ONLY=cni-plugins):
// the bundled executable (what `switchyard cni install` installs after `pnpm build`) and the unbundled
// one (bin/switchyard-cni.js over tsc's dist/), on the same network.
import { benchDir } from './dirs.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summary } from './stats.mjs';
import { CNI_BIN, execCni, execPlugin } from './cni.mjs';

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
  const dir = benchDir('swy-cnibench-');
  const stateDir = join(dir, 'state');
  const bin = join(dir, 'bin');
  const install = spawnSync(process.execPath, [join(root, 'packages/cli/bin/switchyard.js'), 'cni', 'install', '--dir', bin], { env: { ...process.env, SWITCHYARD_STATE_DIR: stateDir }, encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`switchyard cni install failed: ${install.stdout}${install.stderr}`);
  const bundled = join(bin, 'switchyard-bridge');
  if (!readFileSync(bundled, 'utf8').includes('/dist-bundle/')) throw new Error('switchyard cni install did not pick the bundle: run `pnpm build` (tsc, then the CNI bundle) first');
  // The unbundled executable, wrapped as the install wraps the bundle.
  const unbundled = join(dir, 'switchyard-bridge-unbundled');
  writeFileSync(unbundled, `#!/bin/sh\nexec '${process.execPath}' '${join(root, 'packages/cni/bin/switchyard-cni.js')}' --plugin switchyard-bridge "$@"\n`, { mode: 0o755 });
  const ours = { cniVersion: '1.0.0', name: 'sycnibench', type: 'switchyard-bridge', bridge: 'sycnib0', isGateway: true, ipam: { type: 'host-local', subnet: '10.93.0.0/16' } };
  const theirs = { cniVersion: '1.0.0', name: 'refcnibench', type: 'bridge', bridge: 'refcnib0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.94.0.0/16' }]], dataDir: join(dir, 'ref-ipam') } };
  const names = Array.from({ length: n }, (_, i) => i);
  spawnSync('ip', ['-batch', '-'], { input: names.flatMap((i) => [`netns add sycb${i}`, `netns add syub${i}`, `netns add refcb${i}`]).join('\n') + '\n' });
  const envFor = (command, id, netns) => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${netns}`, CNI_IFNAME: 'eth0', CNI_PATH: bin, SWITCHYARD_STATE_DIR: stateDir });
  const version = (path) => execPlugin(path, 'VERSION', { cniVersion: '1.0.0' }, { CNI_COMMAND: 'VERSION' });
  const t = { add: [], addU: [], refAdd: [], del: [], delU: [], refDel: [], node: [], version: [], versionU: [] };

  log(`cni plugins: ${n} ADDs then ${n} DELs, switchyard-bridge bundled and unbundled, reference bridge and node -e 0 alternating…`);
  // The first exec of each warms the page cache (not measured).
  await version(bundled);
  await version(unbundled);
  await nodeStart();
  for (const i of names) {
    t.add.push(await time(() => execPlugin(bundled, 'ADD', ours, envFor('ADD', `sy${i}`, `sycb${i}`))));
    t.refAdd.push(await time(() => execCni('bridge', 'ADD', theirs, { containerId: `ref${i}`, netns: `/run/netns/refcb${i}` })));
    t.node.push(await time(nodeStart));
    t.addU.push(await time(() => execPlugin(unbundled, 'ADD', ours, envFor('ADD', `syu${i}`, `syub${i}`))));
    t.version.push(await time(() => version(bundled)));
    t.versionU.push(await time(() => version(unbundled)));
  }
  for (const i of names) {
    t.del.push(await time(() => execPlugin(bundled, 'DEL', ours, envFor('DEL', `sy${i}`, `sycb${i}`))));
    t.refDel.push(await time(() => execCni('bridge', 'DEL', theirs, { containerId: `ref${i}`, netns: `/run/netns/refcb${i}` })));
    t.delU.push(await time(() => execPlugin(unbundled, 'DEL', ours, envFor('DEL', `syu${i}`, `syub${i}`))));
  }
  // The other kinds, alternating the same way: switchyard-ptp vs the reference ptp, and switchyard-host-local
  // vs the reference host-local (IPAM alone, each on its own data directory).
  const ptpOurs = { cniVersion: '1.0.0', name: 'sycniptp', type: 'switchyard-ptp', ipMasq: false, ipam: { type: 'host-local', subnet: '10.95.0.0/16' } };
  const ptpTheirs = { cniVersion: '1.0.0', name: 'refcniptp', type: 'ptp', ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.96.0.0/16' }]], dataDir: join(dir, 'ref-ipam') } };
  const hlConf = (type, dataDir) => ({ cniVersion: '1.0.0', name: 'hlbench', type: 'bridge', ipam: { type, ranges: [[{ subnet: '10.97.0.0/16' }]], dataDir } });
  const hlOurs = hlConf('switchyard-host-local', join(dir, 'hl-ours'));
  const hlTheirs = hlConf('host-local', join(dir, 'hl-theirs'));
  const hlEnv = (command, id) => ({ CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: bin });
  Object.assign(t, { ptpAdd: [], ptpRefAdd: [], ptpDel: [], ptpRefDel: [], hlAdd: [], hlRefAdd: [], hlDel: [], hlRefDel: [] });
  const m = Math.max(5, Math.floor(n / 2));
  const ptpNames = names.slice(0, m);
  spawnSync('ip', ['-batch', '-'], { input: ptpNames.flatMap((i) => [`netns add syp${i}`, `netns add refp${i}`]).join('\n') + '\n' });
  for (const i of ptpNames) {
    t.ptpAdd.push(await time(() => execPlugin(join(bin, 'switchyard-ptp'), 'ADD', ptpOurs, envFor('ADD', `syp${i}`, `syp${i}`))));
    t.ptpRefAdd.push(await time(() => execCni('ptp', 'ADD', ptpTheirs, { containerId: `refp${i}`, netns: `/run/netns/refp${i}` })));
    t.hlAdd.push(await time(() => execPlugin(join(bin, 'switchyard-host-local'), 'ADD', hlOurs, hlEnv('ADD', `h${i}`))));
    t.hlRefAdd.push(await time(() => execPlugin(`${CNI_BIN}/host-local`, 'ADD', hlTheirs, { ...hlEnv('ADD', `h${i}`), CNI_PATH: CNI_BIN })));
  }
  for (const i of ptpNames) {
    t.ptpDel.push(await time(() => execPlugin(join(bin, 'switchyard-ptp'), 'DEL', ptpOurs, envFor('DEL', `syp${i}`, `syp${i}`))));
    t.ptpRefDel.push(await time(() => execCni('ptp', 'DEL', ptpTheirs, { containerId: `refp${i}`, netns: `/run/netns/refp${i}` })));
    t.hlDel.push(await time(() => execPlugin(join(bin, 'switchyard-host-local'), 'DEL', hlOurs, hlEnv('DEL', `h${i}`))));
    t.hlRefDel.push(await time(() => execPlugin(`${CNI_BIN}/host-local`, 'DEL', hlTheirs, { ...hlEnv('DEL', `h${i}`), CNI_PATH: CNI_BIN })));
  }
  spawnSync('ip', ['-batch', '-'], { input: ptpNames.flatMap((i) => [`netns del syp${i}`, `netns del refp${i}`]).join('\n') + '\n' });
  spawnSync(process.execPath, [join(root, 'packages/cli/bin/switchyard.js'), 'network', 'rm', 'sycniptp'], { env: { ...process.env, SWITCHYARD_STATE_DIR: stateDir } });
  const s = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summary(v)]));
  spawnSync('ip', ['-batch', '-'], { input: names.flatMap((i) => [`netns del sycb${i}`, `netns del syub${i}`, `netns del refcb${i}`]).join('\n') + '\n' });
  spawnSync(process.execPath, [join(root, 'packages/cli/bin/switchyard.js'), 'network', 'rm', 'sycnibench'], { env: { ...process.env, SWITCHYARD_STATE_DIR: stateDir } });
  spawnSync('ip', ['link', 'del', 'refcnib0']);
  rmSync(dir, { recursive: true, force: true });
  const row = (name, ours, peer) => ({ name, ours: ours.median, peer: peer.median, unit: 'ms', lowerIsBetter: true, detail: { ours, peer } });
  return [
    row('CNI ADD, switchyard-bridge (bundled) vs reference bridge, median', s.add, s.refAdd),
    row('CNI DEL, switchyard-bridge (bundled) vs reference bridge, median', s.del, s.refDel),
    row('CNI ADD, switchyard-bridge (bundled) vs node -e 0 [peer: node]', s.add, s.node),
    row('CNI DEL, switchyard-bridge (bundled) vs node -e 0 [peer: node]', s.del, s.node),
    row('CNI VERSION, switchyard-bridge (bundled) vs node -e 0 [peer: node]', s.version, s.node),
    row('CNI ADD, switchyard-bridge (unbundled) vs node -e 0 [peer: node]', s.addU, s.node),
    row('CNI DEL, switchyard-bridge (unbundled) vs node -e 0 [peer: node]', s.delU, s.node),
    row('CNI VERSION, switchyard-bridge (unbundled) vs node -e 0 [peer: node]', s.versionU, s.node),
    row('CNI ADD, bundled vs unbundled [peer: unbundled]', s.add, s.addU),
    row('CNI ADD, switchyard-ptp (bundled) vs reference ptp, median', s.ptpAdd, s.ptpRefAdd),
    row('CNI DEL, switchyard-ptp (bundled) vs reference ptp, median', s.ptpDel, s.ptpRefDel),
    row('CNI ADD, switchyard-host-local vs reference host-local, median', s.hlAdd, s.hlRefAdd),
    row('CNI DEL, switchyard-host-local vs reference host-local, median', s.hlDel, s.hlRefDel),
    row('CNI ADD, switchyard-host-local vs node -e 0 [peer: node]', s.hlAdd, s.node),
  ];
}
