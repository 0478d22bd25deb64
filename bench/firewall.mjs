// Firewall benchmarks: Switchyard (nftables: one table, sets and maps, libnftables in-process) beside
// the CNI reference chain a runtime uses for the same thing (bridge with ipMasq, then portmap; both
// program iptables, which Debian runs on nf_tables), in one run inside the lab, alternating ours and
// theirs operation by operation.
import { benchDir } from './dirs.mjs';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summary } from './stats.mjs';
import { execCni } from './cni.mjs';

const root = new URL('..', import.meta.url).pathname;
const sh = (file, ...args) => execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
};

function makeNetns(names) {
  spawnSync('ip', ['-batch', '-'], { input: names.map((x) => `netns add ${x}`).join('\n') + '\n' });
  for (const x of names) spawnSync('ip', ['-n', x, 'link', 'set', 'lo', 'up']);
}

function dropNetns(names) {
  spawnSync('ip', ['-batch', '-'], { input: names.map((x) => `netns del ${x}`).join('\n') + '\n' });
}

/** Rules Switchyard installed (nft) and rules the CNI chain installed (iptables, nat and filter). */
function ruleCounts() {
  const ours = JSON.parse(sh('nft', '-j', 'list', 'table', 'inet', 'switchyard')).nftables.filter((o) => o.rule).length;
  const theirs = ['nat', 'filter']
    .map(
      (t) =>
        sh('iptables-save', '-t', t)
          .split('\n')
          .filter((l) => l.startsWith('-A')).length,
    )
    .reduce((a, b) => a + b, 0);
  return { ours, theirs };
}

/** The outside client: a namespace routed through the lab host at 203.0.113.1. */
function makeOutside() {
  sh('ip', 'netns', 'add', 'fwb-out');
  sh('ip', 'link', 'add', 'fwb-h', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', 'fwb-out');
  sh('ip', 'addr', 'add', '203.0.113.1/24', 'dev', 'fwb-h');
  sh('ip', 'link', 'set', 'fwb-h', 'up');
  for (const a of [
    ['addr', 'add', '203.0.113.2/24', 'dev', 'eth0'],
    ['link', 'set', 'eth0', 'up'],
    ['link', 'set', 'lo', 'up'],
    ['route', 'add', 'default', 'via', '203.0.113.1'],
  ])
    sh('ip', '-n', 'fwb-out', ...a);
}

/** A TCP server in a namespace that accepts and closes (for connection rate), or iperf3 -s. */
function serveIn(netns, argv) {
  const child = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: 'ignore' });
  return () => child.kill('SIGKILL');
}

const ACCEPTOR = "require('node:net').createServer((c)=>c.end()).listen(80)";
const CONNECTOR = `
const [host, port, n] = process.argv.slice(1);
const net = require('node:net');
let done = 0; const t0 = process.hrtime.bigint();
const one = () => { const c = net.connect(Number(port), host); c.setTimeout(5000, () => { console.log('error TIMEOUT after ' + done); process.exit(1); }); c.on('error', (e) => { console.log('error ' + e.code + ' after ' + done); process.exit(1); }); c.on('close', () => (++done < Number(n) ? one() : console.log(Number(n) / (Number(process.hrtime.bigint() - t0) / 1e9)))); c.resume(); };
one();`;

/** Sequential connections per second from the outside to host:port. */
function connRate(host, port, n) {
  const r = spawnSync('ip', ['netns', 'exec', 'fwb-out', process.execPath, '-e', CONNECTOR, host, String(port), String(n)], { encoding: 'utf8' });
  const v = Number(r.stdout.trim());
  if (!Number.isFinite(v)) {
    throw new Error(`connection-rate client failed: ${r.stdout}${r.stderr}`);
  }
  return v;
}

function iperf(target, port, seconds) {
  const r = spawnSync('ip', ['netns', 'exec', 'fwb-out', 'iperf3', '-c', target, '-p', String(port), '-t', String(seconds), '-J'], { encoding: 'utf8' });
  return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
}

export default async function bench({ log, count = 200 }) {
  const n = Math.min(count, 100);
  const core = await import(join(root, 'packages/core/dist/index.js'));
  const bridge = (await import(join(root, 'packages/driver-bridge/dist/index.js'))).default;
  const hostLocal = (await import(join(root, 'packages/ipam-host-local/dist/index.js'))).default;
  const { NftablesFirewall } = await import(join(root, 'packages/firewall-nftables/dist/index.js'));
  const stateDir = benchDir('swy-fwbench-');
  const cniDir = benchDir('cni-fwbench-');
  const sy = await core.createSwitchyard({ stateDir, drivers: [bridge], ipams: [hostLocal], autoloadPlugins: false, firewall: new NftablesFirewall() });
  const c = sy.controller;
  const results = [];
  makeOutside();
  await c.createNetwork({ name: 'fwb', driver: 'bridge', options: { bridge: 'swyfwb0', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.110.0.0/16' }] } });
  const bridgeConf = { cniVersion: '1.0.0', name: 'cnifw', type: 'bridge', bridge: 'cnifw0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.120.0.0/16' }]], dataDir: cniDir } };
  const portmapConf = (mappings) => ({ cniVersion: '1.0.0', name: 'cnifw', type: 'portmap', snat: true, capabilities: { portMappings: true }, runtimeConfig: { portMappings: mappings } });
  const cniAdd = async (ns, mappings) => {
    const prevResult = JSON.parse(await execCni('bridge', 'ADD', bridgeConf, { containerId: ns, netns: `/run/netns/${ns}` }));
    await execCni('portmap', 'ADD', { ...portmapConf(mappings), prevResult }, { containerId: ns, netns: `/run/netns/${ns}` });
    return prevResult;
  };
  const cniDel = async (ns, mappings) => {
    await execCni('portmap', 'DEL', portmapConf(mappings), { containerId: ns, netns: `/run/netns/${ns}` });
    await execCni('bridge', 'DEL', bridgeConf, { containerId: ns, netns: `/run/netns/${ns}` });
  };

  // 1. connect with masquerade and one published port, alternating ours and theirs
  log(`firewall: ${n} connects with masquerade + one published port, Switchyard and CNI bridge+portmap alternating…`);
  const cns = Array.from({ length: n }, (_, i) => `cfw${i}`);
  makeNetns(cns);
  for (let i = 0; i < n; i++) await c.createSandbox({ name: `fw${i}` });
  const add = { ours: [], theirs: [] };
  const del = { ours: [], theirs: [] };
  for (let i = 0; i < n; i++) {
    add.ours.push(await time(() => c.connect('fwb', `fw${i}`, { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 20000 + i }] })));
    add.theirs.push(await time(() => cniAdd(cns[i], [{ hostPort: 30000 + i, containerPort: 80, protocol: 'tcp' }])));
  }
  const rules100 = ruleCounts();
  for (let i = 0; i < n; i++) {
    del.ours.push(await time(() => c.disconnect('fwb', `fw${i}`)));
    del.theirs.push(await time(() => cniDel(cns[i], [{ hostPort: 30000 + i, containerPort: 80, protocol: 'tcp' }])));
  }
  const a = { ours: summary(add.ours), theirs: summary(add.theirs) };
  const d = { ours: summary(del.ours), theirs: summary(del.theirs) };
  results.push({ name: 'connect + masquerade + 1 port, median', ours: a.ours.median, peer: a.theirs.median, unit: 'ms', lowerIsBetter: true, detail: a });
  results.push({ name: 'connect + masquerade + 1 port, p95', ours: a.ours.p95, peer: a.theirs.p95, unit: 'ms', lowerIsBetter: true });
  results.push({ name: 'disconnect (ports + masquerade), median', ours: d.ours.median, peer: d.theirs.median, unit: 'ms', lowerIsBetter: true, detail: d });
  log(`firewall: rules with ${n} sandboxes publishing one port each: Switchyard ${rules100.ours}, CNI ${rules100.theirs}`);

  // 2. cost of one more published port with 10 and with 1000 mappings in place, and the rule counts
  const k = Math.min(20, n);
  const measureAt = async (mappings) => {
    const filler = Array.from({ length: mappings - 1 }, (_, i) => ({ protocol: 'tcp', containerPort: 80, hostPort: 40000 + i }));
    const fillerMaps = filler.map((b) => ({ hostPort: b.hostPort + 10000, containerPort: 80, protocol: 'tcp' }));
    await c.createSandbox({ name: 'filler' });
    await c.connect('fwb', 'filler', { portBindings: filler });
    makeNetns(['cfiller']);
    await cniAdd('cfiller', fillerMaps);
    const t = { ours: [], theirs: [] };
    for (let i = 0; i < k; i++) {
      t.ours.push(await time(() => c.connect('fwb', `fw${i}`, { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 20000 + i }] })));
      t.theirs.push(await time(() => cniAdd(cns[i], [{ hostPort: 30000 + i, containerPort: 80, protocol: 'tcp' }])));
      await c.disconnect('fwb', `fw${i}`);
      await cniDel(cns[i], [{ hostPort: 30000 + i, containerPort: 80, protocol: 'tcp' }]);
    }
    const rules = ruleCounts();
    return {
      ours: summary(t.ours),
      theirs: summary(t.theirs),
      rules,
      filler,
      fillerMaps,
      cleanup: async () => {
        await c.deleteSandbox('filler');
        await cniDel('cfiller', fillerMaps);
        dropNetns(['cfiller']);
      },
    };
  };
  log(`firewall: one more published port with 10, then 1000 mappings in place (${k} each, alternating)…`);
  const at10 = await measureAt(10);
  await at10.cleanup();
  const at1000 = await measureAt(1000);

  // 3. connection rate and throughput through a published port with 1000 mappings in place
  log('firewall: connection rate through a published port with 1000 mappings, and iperf3 through it vs direct…');
  await c.connect('fwb', 'fw0', {
    portBindings: [
      { protocol: 'tcp', containerPort: 80, hostPort: 21000 },
      { protocol: 'tcp', containerPort: 5201, hostPort: 25201 },
    ],
  });
  const ourAddr = (await c.inspectSandbox('fw0')).endpoints[0].ipv4.split('/')[0];
  const stops = [serveIn('fw0', [process.execPath, '-e', ACCEPTOR]), serveIn('fw0', ['iperf3', '-s', '-p', '5201'])];
  // A reused address may have a stale neighbour entry on the host: let each sandbox announce itself first.
  spawnSync('ip', ['netns', 'exec', 'fw0', 'ping', '-c1', '-W1', '10.110.0.1']);
  await new Promise((r) => setTimeout(r, 800));
  // Through the published port (DNAT lookup in a 1000-entry map) and straight to the sandbox's address (no NAT), alternating.
  // And through the same published port with only its own mapping installed: the 999 others go and come back each round.
  const rate = { published: [], direct: [], alone: [] };
  for (let round = 0; round < 3; round++) {
    rate.published.push(connRate('203.0.113.1', 21000, 1000));
    rate.direct.push(connRate(ourAddr, 80, 1000));
    await c.disconnect('fwb', 'filler');
    rate.alone.push(connRate('203.0.113.1', 21000, 1000));
    await c.connect('fwb', 'filler', { portBindings: at1000.filler });
  }
  const thr = { published: [], direct: [] };
  for (let round = 0; round < 3; round++) {
    thr.published.push(iperf('203.0.113.1', 25201, 2));
    thr.direct.push(iperf(ourAddr, 5201, 2));
  }
  for (const stop of stops) stop();

  const r10 = at10.ours.median;
  const r1000 = at1000.ours.median;
  results.push({ name: 'publish 1 port, 1000 vs 10 mappings: Switchyard [peer: at 10]', ours: r1000, peer: r10, unit: 'ms', lowerIsBetter: true, detail: { at10: at10.ours, at1000: at1000.ours } });
  results.push({
    name: 'publish 1 port, 1000 vs 10 mappings: CNI portmap [peer: at 10]',
    ours: at1000.theirs.median,
    peer: at10.theirs.median,
    unit: 'ms',
    lowerIsBetter: true,
    detail: { at10: at10.theirs, at1000: at1000.theirs },
  });
  results.push({ name: 'publish 1 port with 1000 mappings in place, median', ours: r1000, peer: at1000.theirs.median, unit: 'ms', lowerIsBetter: true });
  results.push({ name: 'rules installed, 10 mappings (count)', ours: at10.rules.ours, peer: at10.rules.theirs, unit: 'rules', lowerIsBetter: true });
  results.push({ name: 'rules installed, 1000 mappings (count)', ours: at1000.rules.ours, peer: at1000.rules.theirs, unit: 'rules', lowerIsBetter: true });
  const med = (xs) => summary(xs).median;
  // Peer = the same sandbox reached directly (no NAT): the cost of Switchyard's own forwarding path.
  results.push({ name: 'conn/s via published port (1000 mappings) vs direct [peer: direct]', ours: med(rate.published), peer: med(rate.direct), unit: 'conn/s', lowerIsBetter: false, detail: rate });
  results.push({ name: 'conn/s via published port, 1000 mappings vs its own alone [peer: alone]', ours: med(rate.published), peer: med(rate.alone), unit: 'conn/s', lowerIsBetter: false });
  results.push({ name: 'iperf3 via published port vs direct [peer: direct]', ours: med(thr.published), peer: med(thr.direct), unit: 'Gbit/s', lowerIsBetter: false, detail: thr });

  await at1000.cleanup();
  for (let i = 0; i < n; i++) await c.deleteSandbox(`fw${i}`);
  await c.deleteNetwork('fwb');
  await sy.close();
  dropNetns([...cns, 'fwb-out']);
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(cniDir, { recursive: true, force: true });
  return results;
}
