// Connect / disconnect latency for N sandboxes: Switchyard's library (netlink and iproute2 executors)
// and CLI beside the CNI reference plugins (bridge, macvlan) exec'd as a runtime does, in one run, inside
// the lab namespace, alternating ours and theirs operation by operation.
import { benchDir } from './dirs.mjs';
import { spawnSync, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summary } from './stats.mjs';
import { execCni } from './cni.mjs';

const root = new URL('..', import.meta.url).pathname;
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function makeNetns(prefix, n) {
  const names = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  const batch = names.map((x) => `netns add ${x}`).join('\n') + '\n';
  spawnSync('ip', ['-batch', '-'], { input: batch });
  for (const x of names) spawnSync('ip', ['-n', x, 'link', 'set', 'lo', 'up']);
  return names;
}

function dropNetns(names) {
  spawnSync('ip', ['-batch', '-'], { input: names.map((x) => `netns del ${x}`).join('\n') + '\n' });
}

async function loadSwitchyard() {
  const core = await import(join(root, 'packages/core/dist/index.js'));
  const bridge = (await import(join(root, 'packages/driver-bridge/dist/index.js'))).default;
  const macvlan = (await import(join(root, 'packages/driver-macvlan/dist/index.js'))).default;
  const hostLocal = (await import(join(root, 'packages/ipam-host-local/dist/index.js'))).default;
  return { core, drivers: [bridge, macvlan].filter((d) => d && d.kind === 'driver'), hostLocal };
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export default async function bench({ log, count = 200, cliCount = 20 }) {
  const { core, drivers, hostLocal } = await loadSwitchyard();
  const results = [];
  const stateDir = benchDir('swy-bench-');
  const cniDir = benchDir('cni-bench-');
  const sy = await core.createSwitchyard({ stateDir, drivers, ipams: [hostLocal], autoloadPlugins: false });
  const c = sy.controller;
  // The reference executor (iproute2) on its own instance and network, in the same run.
  const ipStateDir = benchDir('swy-bench-ip-');
  const syIp = await core.createSwitchyard({ stateDir: ipStateDir, executor: 'iproute2', drivers, ipams: [hostLocal], autoloadPlugins: false });
  const conf = { cniVersion: '1.0.0', name: 'cnibench', type: 'bridge', bridge: 'cnibench0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.99.0.0/16' }]], dataDir: cniDir } };

  // --- bridge: library (netlink), library (iproute2 executor) and the CNI plugin, alternating per operation,
  // so whatever the machine does meanwhile lands on all three alike.
  log(`bridge: ${count} connects and disconnects, library / iproute2 executor / CNI bridge plugin alternating…`);
  await c.createNetwork({ name: 'bench', driver: 'bridge', options: { bridge: 'swybench0' }, ipam: { ipv4: [{ subnet: '10.98.0.0/16' }] } });
  await syIp.controller.createNetwork({ name: 'benchip', driver: 'bridge', options: { bridge: 'swybench1' }, ipam: { ipv4: [{ subnet: '10.95.0.0/16' }] } });
  const sbs = [];
  const ipSbs = [];
  for (let i = 0; i < count; i++) {
    sbs.push((await c.createSandbox({ name: `sb${i}` })).name);
    ipSbs.push((await syIp.controller.createSandbox({ name: `ip${i}` })).name);
  }
  const cns = makeNetns('cni', count);
  const t = { libAdd: [], ipAdd: [], cniAdd: [], libDel: [], ipDel: [], cniDel: [] };
  for (let i = 0; i < count; i++) {
    t.libAdd.push(await timed(() => c.connect('bench', sbs[i])));
    t.ipAdd.push(await timed(() => syIp.controller.connect('benchip', ipSbs[i])));
    t.cniAdd.push(await timed(() => execCni('bridge', 'ADD', conf, { containerId: cns[i], netns: `/run/netns/${cns[i]}` })));
  }
  for (let i = 0; i < count; i++) {
    t.libDel.push(await timed(() => c.disconnect('bench', sbs[i])));
    t.ipDel.push(await timed(() => syIp.controller.disconnect('benchip', ipSbs[i])));
    t.cniDel.push(await timed(() => execCni('bridge', 'DEL', conf, { containerId: cns[i], netns: `/run/netns/${cns[i]}` })));
  }
  const [libAdd, ipAdd, cniAdd, libDel, ipDel, cniDel] = [t.libAdd, t.ipAdd, t.cniAdd, t.libDel, t.ipDel, t.cniDel].map(summary);
  for (const s of ipSbs) await syIp.controller.deleteSandbox(s);
  await syIp.controller.deleteNetwork('benchip');
  await syIp.close();
  rmSync(ipStateDir, { recursive: true, force: true });
  results.push({ name: 'bridge connect (ADD) median', ours: libAdd.median, peer: cniAdd.median, unit: 'ms', lowerIsBetter: true, detail: { ours: libAdd, peer: cniAdd } });
  results.push({ name: 'bridge connect (ADD) p95', ours: libAdd.p95, peer: cniAdd.p95, unit: 'ms', lowerIsBetter: true });
  results.push({ name: 'bridge connect, iproute2 executor, median', ours: ipAdd.median, peer: cniAdd.median, unit: 'ms', lowerIsBetter: true });
  results.push({ name: 'bridge disconnect (DEL) median', ours: libDel.median, peer: cniDel.median, unit: 'ms', lowerIsBetter: true, detail: { ours: libDel, peer: cniDel } });
  results.push({ name: 'bridge disconnect (DEL) p95', ours: libDel.p95, peer: cniDel.p95, unit: 'ms', lowerIsBetter: true });
  results.push({ name: 'bridge disconnect, iproute2 executor, median', ours: ipDel.median, peer: cniDel.median, unit: 'ms', lowerIsBetter: true });

  // --- bridge: through the CLI (one process per operation, as a runtime calling a binary would), alternating
  // with the CNI plugin on fresh containers, so the CLI rows have a peer from the same moments.
  const bin = join(root, 'packages/cli/bin/switchyard.js');
  const cliSbs = sbs.slice(0, cliCount);
  const cli = (args) => {
    const r = spawnSync(process.execPath, [bin, '--state-dir', stateDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`switchyard ${args.join(' ')}: ${r.stderr}`);
  };
  log(`bridge: ${cliCount} connects and disconnects through the CLI, alternating with the CNI plugin…`);
  await sy.close();
  const ccns = makeNetns('ccli', cliCount);
  const u = { add: [], peerAdd: [], del: [], peerDel: [] };
  for (let i = 0; i < cliCount; i++) {
    u.add.push(await timed(() => cli(['connect', 'bench', cliSbs[i]])));
    u.peerAdd.push(await timed(() => execCni('bridge', 'ADD', conf, { containerId: ccns[i], netns: `/run/netns/${ccns[i]}` })));
  }
  for (let i = 0; i < cliCount; i++) {
    u.del.push(await timed(() => cli(['disconnect', 'bench', cliSbs[i]])));
    u.peerDel.push(await timed(() => execCni('bridge', 'DEL', conf, { containerId: ccns[i], netns: `/run/netns/${ccns[i]}` })));
  }
  dropNetns([...cns, ...ccns]);
  const [cliAdd, cliPeerAdd, cliDel, cliPeerDel] = [u.add, u.peerAdd, u.del, u.peerDel].map(summary);
  results.push({ name: `bridge connect via CLI median (${cliCount})`, ours: cliAdd.median, peer: cliPeerAdd.median, unit: 'ms', lowerIsBetter: true });
  results.push({ name: `bridge disconnect via CLI median (${cliCount})`, ours: cliDel.median, peer: cliPeerDel.median, unit: 'ms', lowerIsBetter: true });

  const sy2 = await core.createSwitchyard({ stateDir, drivers, ipams: [hostLocal], autoloadPlugins: false });
  for (const s of sbs) await sy2.controller.deleteSandbox(s);
  await sy2.controller.deleteNetwork('bench');

  // --- macvlan over a veth master inside the lab, Switchyard vs CNI macvlan, alternating per operation
  if (drivers.some((d) => d.type === 'macvlan')) {
    log(`macvlan: ${count} connects, library / CNI macvlan plugin alternating…`);
    ip('link', 'add', 'benchm0', 'type', 'veth', 'peer', 'name', 'benchm1');
    ip('link', 'set', 'benchm0', 'up');
    await sy2.controller.createNetwork({ name: 'mv', driver: 'macvlan', options: { master: 'benchm0' }, ipam: { ipv4: [{ subnet: '10.97.0.0/16' }] } });
    const msb = [];
    for (let i = 0; i < count; i++) msb.push((await sy2.controller.createSandbox({ name: `mv${i}` })).name);
    const mvConf = { cniVersion: '1.0.0', name: 'cnimv', type: 'macvlan', master: 'benchm0', mode: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.96.0.0/16' }]], dataDir: cniDir } };
    const mns = makeNetns('cmv', count);
    const m = { ours: [], peer: [] };
    for (let i = 0; i < count; i++) {
      m.ours.push(await timed(() => sy2.controller.connect('mv', msb[i])));
      m.peer.push(await timed(() => execCni('macvlan', 'ADD', mvConf, { containerId: mns[i], netns: `/run/netns/${mns[i]}` })));
    }
    const [mvAdd, cmvAdd] = [m.ours, m.peer].map(summary);
    results.push({ name: 'macvlan connect (ADD) median', ours: mvAdd.median, peer: cmvAdd.median, unit: 'ms', lowerIsBetter: true, detail: { ours: mvAdd, peer: cmvAdd } });
    for (const n of mns) await execCni('macvlan', 'DEL', mvConf, { containerId: n, netns: `/run/netns/${n}` }).catch(() => undefined);
    dropNetns(mns);
    for (const s of msb) await sy2.controller.deleteSandbox(s);
    await sy2.controller.deleteNetwork('mv');
    ip('link', 'del', 'benchm0');
  }
  await sy2.close();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(cniDir, { recursive: true, force: true });
  return results;
}
