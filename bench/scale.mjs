// Cost against the number of sandboxes on a network: at each level N (10, 100, 1000 by default) the
// network holds N connected sandboxes, and then K probe connects and disconnects are timed, alternating
// operation by operation between Switchyard's library, the CNI reference bridge plugin (exec'd as a
// runtime does, its own bridge holding its own N containers) and a bare-kernel attach (the same netlink
// calls with no IPAM, store or files: the kernel's own share of the growth).
// BENCH_SCALE_LEVELS=10,100 for a quick run; BENCH_SCALE_PROBES=K (default 20; `--quick`: 10,100 and 5).
// Returns the table rows and, for the plots, median latency against N for each side.
import { benchDir } from './dirs.mjs';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { summary } from './stats.mjs';
import { execCni } from './cni.mjs';
import { loadLibrary } from './library.mjs';

function netnsAdd(names) {
  spawnSync('ip', ['-batch', '-'], { input: names.map((x) => `netns add ${x}`).join('\n') + '\n' });
  spawnSync('ip', ['-batch', '-'], { input: names.map((x) => `-n ${x} link set lo up`).join('\n') + '\n' });
}

function netnsDel(names) {
  spawnSync('ip', ['-batch', '-'], { input: names.map((x) => `netns del ${x}`).join('\n') + '\n' });
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** The address of sandbox i in a /16, skipping .0.0 and the gateway .0.1. */
const addressOf = (prefix, i) => `${prefix}.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}/16`;

export default async function bench({ log, quick = false }) {
  const levels = (process.env.BENCH_SCALE_LEVELS ?? (quick ? '10,100' : '10,100,1000')).split(',').map(Number);
  const probes = Number(process.env.BENCH_SCALE_PROBES ?? (quick ? 5 : 20));
  // BENCH_SCALE_POPULATE=ours fills only Switchyard's network (the peers are still probed), to tell
  // growth that comes from the network itself from growth that comes from every link in the namespace.
  const populatePeers = process.env.BENCH_SCALE_POPULATE !== 'ours';
  const { open } = await loadLibrary();
  const stateDir = benchDir('swy-scale-');
  const cniDir = benchDir('cni-scale-');
  const sy = await open(stateDir);
  const c = sy.controller;
  await c.createNetwork({ name: 'scale', driver: 'bridge', options: { bridge: 'swyscale0' }, ipam: { ipv4: [{ subnet: '10.94.0.0/16' }] } });
  const conf = { cniVersion: '1.0.0', name: 'cniscale', type: 'bridge', bridge: 'cniscale0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.93.0.0/16' }]], dataDir: cniDir } };
  const host = { kind: 'host' };
  const named = (name) => ({ kind: 'named', name });
  await sy.kernel.apply([
    { ns: host, op: { op: 'link.add', kind: 'bridge', name: 'barescale0' } },
    { ns: host, op: { op: 'addr.add', dev: 'barescale0', cidr: '10.92.0.1/16' } },
    { ns: host, op: { op: 'link.set', name: 'barescale0', up: true } },
  ]);
  let bareCount = 0;
  const bareAttach = (ns) => {
    const i = bareCount++;
    return sy.kernel.apply([
      { ns: host, op: { op: 'link.add', kind: 'veth', name: `bk${i}`, peer: { name: 'eth0', netns: named(ns) } } },
      { ns: host, op: { op: 'link.set', name: `bk${i}`, master: 'barescale0', up: true } },
      { ns: named(ns), op: { op: 'addr.add', dev: 'eth0', cidr: addressOf('10.92', i) } },
      { ns: named(ns), op: { op: 'link.set', name: 'eth0', up: true } },
    ]);
  };
  const bareDetach = (ns) => sy.kernel.apply([{ ns: named(ns), op: { op: 'link.del', name: 'eth0' } }]);

  const ours = [];
  const theirs = [];
  const bare = [];
  const rows = [];
  const figures = [];
  try {
    // Warm-up (not timed): the first connects of a process pay for JIT compilation and lazy loading.
    netnsAdd(['warmcni', 'warmbare']);
    for (let i = 0; i < 5; i++) {
      await c.createSandbox({ name: 'warm' });
      await c.connect('scale', 'warm');
      await c.deleteSandbox('warm');
      await execCni('bridge', 'ADD', conf, { containerId: 'warmcni', netns: '/run/netns/warmcni' });
      await execCni('bridge', 'DEL', conf, { containerId: 'warmcni', netns: '/run/netns/warmcni' });
      await bareAttach('warmbare');
      await bareDetach('warmbare');
    }
    netnsDel(['warmcni', 'warmbare']);
    for (const level of levels) {
      log(`scale: filling each network to ${level} sandboxes…`);
      while (ours.length < level) {
        const name = `sc${ours.length}`;
        await c.createSandbox({ name });
        await c.connect('scale', name);
        ours.push(name);
      }
      const fresh = populatePeers ? Array.from({ length: level - theirs.length }, (_, i) => `cs${theirs.length + i}`) : [];
      const freshBare = populatePeers ? Array.from({ length: level - bare.length }, (_, i) => `bs${bare.length + i}`) : [];
      netnsAdd([...fresh, ...freshBare]);
      for (const n of fresh) {
        await execCni('bridge', 'ADD', conf, { containerId: n, netns: `/run/netns/${n}` });
        theirs.push(n);
      }
      for (const n of freshBare) {
        await bareAttach(n);
        bare.push(n);
      }
      // K probes, alternating ours / CNI / bare for each operation, so drift lands on all three alike.
      log(`scale: ${probes} probe connects and disconnects at ${level}…`);
      const probeNames = Array.from({ length: probes }, (_, i) => `p${level}x${i}`);
      netnsAdd(probeNames.flatMap((p) => [`cp${p}`, `bp${p}`]));
      for (const p of probeNames) await c.createSandbox({ name: `sp${p}` });
      const t = { ours: [], cni: [], bare: [], oursDel: [], cniDel: [], bareDel: [] };
      for (const p of probeNames) {
        t.ours.push(await timed(() => c.connect('scale', `sp${p}`)));
        t.cni.push(await timed(() => execCni('bridge', 'ADD', conf, { containerId: `cp${p}`, netns: `/run/netns/cp${p}` })));
        t.bare.push(await timed(() => bareAttach(`bp${p}`)));
      }
      for (const p of probeNames) {
        t.oursDel.push(await timed(() => c.disconnect('scale', `sp${p}`)));
        t.cniDel.push(await timed(() => execCni('bridge', 'DEL', conf, { containerId: `cp${p}`, netns: `/run/netns/cp${p}` })));
        t.bareDel.push(await timed(() => bareDetach(`bp${p}`)));
      }
      for (const p of probeNames) await c.deleteSandbox(`sp${p}`);
      netnsDel(probeNames.flatMap((p) => [`cp${p}`, `bp${p}`]));
      const s = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summary(v)]));
      const rss = process.memoryUsage().rss / 2 ** 20;
      figures.push({ level, ...s, rssMiB: rss });
      log(
        `scale ${level}: connect ours ${s.ours.median.toFixed(2)} ms, CNI ${s.cni.median.toFixed(2)} ms, bare ${s.bare.median.toFixed(2)} ms; disconnect ours ${s.oursDel.median.toFixed(2)}, CNI ${s.cniDel.median.toFixed(2)}, bare ${s.bareDel.median.toFixed(2)}; rss ${rss.toFixed(0)} MiB`,
      );
      rows.push({ name: `connect at ${level} sandboxes, median`, ours: s.ours.median, peer: s.cni.median, unit: 'ms', lowerIsBetter: true, p95: { ours: s.ours.p95, peer: s.cni.p95 }, bare: s.bare, detail: s });
      rows.push({ name: `disconnect at ${level} sandboxes, median`, ours: s.oursDel.median, peer: s.cniDel.median, unit: 'ms', lowerIsBetter: true, p95: { ours: s.oursDel.p95, peer: s.cniDel.p95 }, bare: s.bareDel });
    }
    const first = figures[0];
    const last = figures.at(-1);
    if (first && last && first !== last) {
      log(
        `scale growth ${first.level} -> ${last.level}: connect ours ${(last.ours.median / first.ours.median).toFixed(2)}x, CNI ${(last.cni.median / first.cni.median).toFixed(2)}x, bare kernel ${(last.bare.median / first.bare.median).toFixed(2)}x; disconnect ours ${(last.oursDel.median / first.oursDel.median).toFixed(2)}x, CNI ${(last.cniDel.median / first.cniDel.median).toFixed(2)}x`,
      );
      rows.push({ name: `connect growth ${first.level}->${last.level} (x)`, ours: last.ours.median / first.ours.median, peer: last.cni.median / first.cni.median, unit: 'x', lowerIsBetter: true });
    }
  } finally {
    log('scale: tearing down…');
    for (const n of ours) await c.deleteSandbox(n).catch(() => undefined);
    await c.deleteNetwork('scale').catch(() => undefined);
    for (const n of theirs) await execCni('bridge', 'DEL', conf, { containerId: n, netns: `/run/netns/${n}` }).catch(() => undefined);
    netnsDel([...theirs, ...bare]);
    spawnSync('ip', ['link', 'del', 'cniscale0']);
    spawnSync('ip', ['link', 'del', 'barescale0']);
    await sy.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(cniDir, { recursive: true, force: true });
  }
  const curve = (key) => figures.map((f) => [f.level, f[key].median]);
  const chart = (op, keys) => ({
    title: `${op} latency against sandboxes on the network`,
    subtitle: `median of ${probes} probes at each N; Switchyard, CNI bridge and bare kernel alternate op by op`,
    x: { label: 'sandboxes per network (N)', log: true, ticks: levels },
    y: { label: 'milliseconds (median)' },
    series: [
      { name: 'Switchyard', points: curve(keys[0]) },
      { name: 'CNI bridge', points: curve(keys[1]) },
      { name: 'bare kernel', points: curve(keys[2]) },
    ],
  });
  return { rows, series: { 'scale-connect': chart('Connect', ['ours', 'cni', 'bare']), 'scale-disconnect': chart('Disconnect', ['oursDel', 'cniDel', 'bareDel']) }, figures };
}
