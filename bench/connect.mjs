// Connect / disconnect latency for N sandboxes: Switchyard's library and CLI beside the CNI reference
// plugins (bridge, macvlan) exec'd as a runtime does, in one run, inside the lab namespace.
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summary } from './stats.mjs';
import { execCni } from './cni.mjs';

const root = new URL('..', import.meta.url).pathname;
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

async function timeEach(items, fn) {
  const times = [];
  for (const item of items) {
    const t0 = performance.now();
    await fn(item);
    times.push(performance.now() - t0);
  }
  return summary(times);
}

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

export default async function bench({ log, count = 200, cliCount = 20 }) {
  const { core, drivers, hostLocal } = await loadSwitchyard();
  const results = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'swy-bench-'));
  const sy = await core.createSwitchyard({ stateDir, drivers, ipams: [hostLocal], autoloadPlugins: false });
  const c = sy.controller;

  // --- bridge: Switchyard library
  log(`bridge: ${count} sandboxes through the library…`);
  await c.createNetwork({ name: 'bench', driver: 'bridge', options: { bridge: 'swybench0' }, ipam: { ipv4: [{ subnet: '10.98.0.0/16' }] } });
  const sbs = [];
  for (let i = 0; i < count; i++) sbs.push((await c.createSandbox({ name: `sb${i}` })).name);
  const libAdd = await timeEach(sbs, (s) => c.connect('bench', s));
  const libDel = await timeEach(sbs, (s) => c.disconnect('bench', s));

  // --- bridge: the iproute2 executor (the reference), same sandboxes, another network
  log(`bridge: ${count} sandboxes through the library with the iproute2 executor…`);
  const syIp = await core.createSwitchyard({ stateDir: mkdtempSync(join(tmpdir(), 'swy-bench-ip-')), executor: 'iproute2', drivers, ipams: [hostLocal], autoloadPlugins: false });
  await syIp.controller.createNetwork({ name: 'benchip', driver: 'bridge', options: { bridge: 'swybench1' }, ipam: { ipv4: [{ subnet: '10.95.0.0/16' }] } });
  const ipSbs = [];
  for (let i = 0; i < count; i++) ipSbs.push((await syIp.controller.createSandbox({ name: `ip${i}` })).name);
  const ipAdd = await timeEach(ipSbs, (s) => syIp.controller.connect('benchip', s));
  for (const s of ipSbs) await syIp.controller.deleteSandbox(s);
  await syIp.controller.deleteNetwork('benchip');
  await syIp.close();
  rmSync(syIp.options.stateDir, { recursive: true, force: true });

  // --- bridge: CNI reference plugin
  log(`bridge: ${count} containers through the CNI bridge plugin…`);
  const cniDir = mkdtempSync(join(tmpdir(), 'cni-bench-'));
  const conf = { cniVersion: '1.0.0', name: 'cnibench', type: 'bridge', bridge: 'cnibench0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.99.0.0/16' }]], dataDir: cniDir } };
  const cns = makeNetns('cni', count);
  const cniAdd = await timeEach(cns, (n) => execCni('bridge', 'ADD', conf, { containerId: n, netns: `/run/netns/${n}` }));
  const cniDel = await timeEach(cns, (n) => execCni('bridge', 'DEL', conf, { containerId: n, netns: `/run/netns/${n}` }));
  dropNetns(cns);
  results.push({ name: 'bridge connect (ADD) median', ours: libAdd.median, peer: cniAdd.median, unit: 'ms', lowerIsBetter: true, detail: { ours: libAdd, peer: cniAdd } });
  results.push({ name: 'bridge connect (ADD) p95', ours: libAdd.p95, peer: cniAdd.p95, unit: 'ms', lowerIsBetter: true });
  results.push({ name: 'bridge connect, iproute2 executor, median', ours: ipAdd.median, peer: cniAdd.median, unit: 'ms', lowerIsBetter: true });
  results.push({ name: 'bridge disconnect (DEL) median', ours: libDel.median, peer: cniDel.median, unit: 'ms', lowerIsBetter: true, detail: { ours: libDel, peer: cniDel } });
  results.push({ name: 'bridge disconnect (DEL) p95', ours: libDel.p95, peer: cniDel.p95, unit: 'ms', lowerIsBetter: true });

  // --- bridge: through the CLI (one process per operation, as a runtime calling a binary would)
  const bin = join(root, 'packages/cli/bin/switchyard.js');
  const cliSbs = sbs.slice(0, cliCount);
  const cli = (args) => {
    const r = spawnSync(process.execPath, [bin, '--state-dir', stateDir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`switchyard ${args.join(' ')}: ${r.stderr}`);
  };
  log(`bridge: ${cliCount} sandboxes through the CLI…`);
  await sy.close();
  const cliAdd = await timeEach(cliSbs, (s) => cli(['connect', 'bench', s]));
  const cliDel = await timeEach(cliSbs, (s) => cli(['disconnect', 'bench', s]));
  results.push({ name: `bridge connect via CLI median (${cliCount})`, ours: cliAdd.median, peer: cniAdd.median, unit: 'ms', lowerIsBetter: true });
  results.push({ name: `bridge disconnect via CLI median (${cliCount})`, ours: cliDel.median, peer: cniDel.median, unit: 'ms', lowerIsBetter: true });

  const sy2 = await core.createSwitchyard({ stateDir, drivers, ipams: [hostLocal], autoloadPlugins: false });
  for (const s of sbs) await sy2.controller.deleteSandbox(s);
  await sy2.controller.deleteNetwork('bench');

  // --- macvlan over a veth master inside the lab, Switchyard vs CNI macvlan
  if (drivers.some((d) => d.type === 'macvlan')) {
    log(`macvlan: ${count} sandboxes, library vs CNI macvlan plugin…`);
    ip('link', 'add', 'benchm0', 'type', 'veth', 'peer', 'name', 'benchm1');
    ip('link', 'set', 'benchm0', 'up');
    await sy2.controller.createNetwork({ name: 'mv', driver: 'macvlan', options: { master: 'benchm0' }, ipam: { ipv4: [{ subnet: '10.97.0.0/16' }] } });
    const msb = [];
    for (let i = 0; i < count; i++) msb.push((await sy2.controller.createSandbox({ name: `mv${i}` })).name);
    const mvAdd = await timeEach(msb, (s) => sy2.controller.connect('mv', s));
    const mvConf = { cniVersion: '1.0.0', name: 'cnimv', type: 'macvlan', master: 'benchm0', mode: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: '10.96.0.0/16' }]], dataDir: cniDir } };
    const mns = makeNetns('cmv', count);
    const cmvAdd = await timeEach(mns, (n) => execCni('macvlan', 'ADD', mvConf, { containerId: n, netns: `/run/netns/${n}` }));
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
