// Connect throughput under concurrency: connects per second, each to a fresh pre-created sandbox on one
// bridge network, at 1, 4 and 16 in flight from one process (a promise pool over the library), and from
// 4 processes (child node processes, each its own createSwitchyard on the same state dir, a quarter of
// the work each, released together; time from the first child's start to the last one's finish), beside
// the CNI reference bridge plugin exec'd with the same number of concurrent processes. For each level,
// each repetition times Switchyard's batch and then CNI's, so drift lands on both alike; rates are the
// medians over the repetitions. BENCH_PARALLEL_LEVELS=1,4 overrides the in-flight levels.
import { benchDir } from './dirs.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { median } from './stats.mjs';
import { execCni } from './cni.mjs';
import { loadLibrary } from './library.mjs';

const self = fileURLToPath(import.meta.url);
const NETWORK = 'par';

async function loadSwitchyard() {
  const { open } = await loadLibrary();
  return (stateDir) => open(stateDir);
}

/** Runs `fn` on every item with at most `width` in flight. */
async function pool(items, width, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

function netnsAdd(names) {
  spawnSync('ip', ['-batch', '-'], { input: names.map((x) => `netns add ${x}`).join('\n') + '\n' });
}

function netnsDel(names) {
  spawnSync('ip', ['-batch', '-'], { input: names.map((x) => `netns del ${x}`).join('\n') + '\n' });
}

/**
 * Child mode (`node parallel.mjs --child`): opens Switchyard on the state dir given in SWY_PAR_JOB, warms
 * up with one connect of its own, says "ready", waits for "go" on stdin, connects its sandboxes one after another and prints its start and
 * finish on the wall clock (ms since the epoch, sub-millisecond).
 */
async function child() {
  const job = JSON.parse(process.env.SWY_PAR_JOB);
  const open = await loadSwitchyard();
  const sy = await open(job.stateDir);
  // Warm, as the one-process rows run in the warmed bench process: a connect and disconnect of its own
  // sandbox loads and compiles what a connect uses before the clock starts.
  const warm = `pw${process.pid}`;
  await sy.controller.createSandbox({ name: warm });
  await sy.controller.connect(NETWORK, warm);
  await sy.controller.disconnect(NETWORK, warm);
  await sy.controller.deleteSandbox(warm);
  await sy.settle();
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const now = () => performance.timeOrigin + performance.now();
  const start = now();
  for (const name of job.sandboxes) await sy.controller.connect(NETWORK, name);
  const finish = now();
  await sy.close();
  process.stdout.write(`${JSON.stringify({ start, finish })}\n`);
  process.stdin.destroy();
}

/** Starts one child per share, waits until every one is ready, releases them together; resolves with the wall time of the work in ms. */
async function runChildren(stateDir, shares) {
  const children = shares.map((sandboxes) => {
    const proc = spawn(process.execPath, [self, '--child'], { env: { ...process.env, SWY_PAR_JOB: JSON.stringify({ stateDir, sandboxes }) }, stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise((resolve, reject) => {
      proc.stdout.on('data', (d) => {
        out += d;
        if (out.includes('ready\n')) resolve();
      });
      proc.on('close', (code) => reject(new Error(`parallel child exited ${code} before it was ready`)));
    });
    const done = new Promise((resolve, reject) => proc.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`parallel child exited ${code}: ${out}`)))));
    return { proc, ready, done };
  });
  await Promise.all(children.map((ch) => ch.ready));
  for (const ch of children) ch.proc.stdin.write('go\n');
  const times = await Promise.all(children.map((ch) => ch.done));
  return Math.max(...times.map((t) => t.finish)) - Math.min(...times.map((t) => t.start));
}

export default async function bench({ log, count = 200, runs = 3, quick = false }) {
  const levels = (process.env.BENCH_PARALLEL_LEVELS ?? (quick ? '1,4' : '1,4,16')).split(',').map(Number);
  const processes = 4;
  const open = await loadSwitchyard();
  const stateDir = benchDir('swy-parallel-');
  const cniDir = benchDir('cni-parallel-');
  let sy = await open(stateDir);
  const conf = { cniVersion: '1.0.0', name: 'cnipar', type: 'bridge', bridge: 'cnipar0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.88.0.0/16' }]], dataDir: cniDir } };
  const ours = new Set();
  const theirs = new Set();
  let batch = 0;
  const fresh = async (n) => {
    const id = batch++;
    const sbs = Array.from({ length: n }, (_, i) => `pa${id}x${i}`);
    for (const s of sbs) {
      await sy.controller.createSandbox({ name: s });
      ours.add(s);
    }
    const cns = sbs.map((s) => `c${s}`);
    netnsAdd(cns);
    for (const s of cns) theirs.add(s);
    return { sbs, cns };
  };
  // Untimed: the sandboxes and containers of a batch are taken down again, four at a time.
  const clear = async ({ sbs, cns }) => {
    await pool(sbs, 4, async (s) => {
      await sy.controller.disconnect(NETWORK, s).catch(() => undefined);
      await sy.controller.deleteSandbox(s);
      ours.delete(s);
    });
    await pool(cns, 4, (s) => execCni('bridge', 'DEL', conf, { containerId: s, netns: `/run/netns/${s}` }));
    netnsDel(cns);
    for (const s of cns) theirs.delete(s);
  };
  const cniAdd = (s) => execCni('bridge', 'ADD', conf, { containerId: s, netns: `/run/netns/${s}` });
  const rate = (ms) => count / (ms / 1000);

  const configs = [...levels.map((k) => ({ key: `${k}`, label: `${k} in flight, 1 process`, inFlight: k, processes: 1 })), { key: `${processes}p`, label: `${processes} processes`, inFlight: processes, processes }];
  const results = Object.fromEntries(configs.map((cf) => [cf.key, { ours: [], cni: [] }]));
  try {
    await sy.controller.createNetwork({ name: NETWORK, driver: 'bridge', options: { bridge: 'swypar0' }, ipam: { ipv4: [{ subnet: '10.89.0.0/16' }] } });
    // Warm-up (not timed).
    {
      const w = await fresh(8);
      await pool(w.sbs, 4, (s) => sy.controller.connect(NETWORK, s));
      await pool(w.cns, 4, cniAdd);
      await clear(w);
    }
    log(`parallel: ${count} connects per batch, ${runs} run(s), levels ${configs.map((cf) => cf.label).join(' / ')}, Switchyard then CNI bridge per repetition…`);
    for (let r = 0; r < runs; r++) {
      for (const cf of configs) {
        const b = await fresh(count);
        let oursMs;
        if (cf.processes === 1) {
          const t0 = performance.now();
          await pool(b.sbs, cf.inFlight, (s) => sy.controller.connect(NETWORK, s));
          oursMs = performance.now() - t0;
        } else {
          // The children open the same state dir; this process lets go of it meanwhile, so that only they hold it.
          await sy.close();
          const shares = Array.from({ length: cf.processes }, (_, p) => b.sbs.filter((_, i) => i % cf.processes === p));
          try {
            oursMs = await runChildren(stateDir, shares);
          } finally {
            sy = await open(stateDir);
          }
        }
        const t1 = performance.now();
        await pool(b.cns, cf.inFlight, cniAdd);
        const cniMs = performance.now() - t1;
        results[cf.key].ours.push(rate(oursMs));
        results[cf.key].cni.push(rate(cniMs));
        log(`parallel run ${r + 1}, ${cf.label}: Switchyard ${rate(oursMs).toFixed(0)} connects/s, CNI ${rate(cniMs).toFixed(0)} connects/s`);
        await clear(b);
      }
    }
  } finally {
    log('parallel: cleaning up…');
    for (const s of ours) await sy.controller.deleteSandbox(s).catch(() => undefined);
    await sy.controller.deleteNetwork(NETWORK).catch(() => undefined);
    for (const s of theirs) await execCni('bridge', 'DEL', conf, { containerId: s, netns: `/run/netns/${s}` }).catch(() => undefined);
    netnsDel([...theirs]);
    spawnSync('ip', ['link', 'del', 'cnipar0']);
    await sy.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(cniDir, { recursive: true, force: true });
  }

  const med = Object.fromEntries(configs.map((cf) => [cf.key, { ours: median(results[cf.key].ours), cni: median(results[cf.key].cni) }]));
  const base = med[`${levels[0]}`];
  const rows = [];
  for (const cf of configs) {
    const m = med[cf.key];
    log(`parallel ${cf.label}: Switchyard ${m.ours.toFixed(0)} connects/s (${(m.ours / base.ours).toFixed(2)}x of ${levels[0]} in flight), CNI ${m.cni.toFixed(0)} connects/s (${(m.cni / base.cni).toFixed(2)}x)`);
    rows.push({ name: `connect throughput, ${cf.label} (median of ${runs})`, ours: m.ours, peer: m.cni, unit: 'connects/s', lowerIsBetter: false });
    if (cf.key !== `${levels[0]}`) rows.push({ name: `throughput scaling vs ${levels[0]} in flight, ${cf.label} (x)`, ours: m.ours / base.ours, peer: m.cni / base.cni, unit: 'x', lowerIsBetter: false });
  }
  const series = {
    parallel: {
      title: 'Connect throughput against concurrency',
      subtitle: `${count} connects per batch to fresh sandboxes on one bridge; median of ${runs}; CNI = that many concurrent plugin processes`,
      x: { label: 'in flight (concurrent operations)', log: true, ticks: [...new Set([...levels, processes])].sort((a, b) => a - b) },
      y: { label: 'connects per second' },
      series: [
        { name: 'Switchyard, 1 process', points: levels.map((k) => [k, med[`${k}`].ours]) },
        { name: `Switchyard, ${processes} processes`, points: [[processes, med[`${processes}p`].ours]] },
        { name: 'CNI bridge', points: levels.map((k) => [k, med[`${k}`].cni]) },
      ],
      rates: med,
    },
  };
  return { rows, series };
}

if (process.argv[1] === self && process.argv[2] === '--child') {
  child().catch((e) => {
    process.stderr.write(`${e.stack ?? e}\n`);
    process.exit(1);
  });
}
