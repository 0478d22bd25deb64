// Resident memory of a process managing N endpoints (issue 12 item 5: 1000 endpoints in at most 60 MB).
// Each configuration (node flags, environment) runs in a fresh child node process — this file, re-executed
// with --child — so every measurement starts clean. The child creates a state dir under /tmp, a bridge
// network and N sandboxes, each connected in turn (sequentially, one await at a time), and samples
// process.memoryUsage(), v8.getHeapSpaceStatistics() and /proc/self/status (VmRSS, RssAnon, RssFile) at 0
// endpoints (after createSwitchyard and the network), at 100 (code paths compiled) and at N, then deletes
// the sandboxes and the network. With --expose-gc among the flags each sample is taken twice, before and
// after global.gc(), to tell garbage from live data. Beside them: the floor (a bare
// `node -e "setTimeout(()=>{},1e6)"`, read from /proc/<pid>/status) and a process that has only imported
// the library. Rows: rss at N against the 60 MB target (57.2 MiB), rss at 0 against the floor, growth per
// endpoint, and connect latency and CPU per endpoint against the first configuration.
//
// What the figures said (Node 20, x64): the floor is ~39 MiB (33 of it the node binary's file pages),
// importing the library adds ~17-20 MiB, and with default flags rss at 1000 is ~100 MiB — of which 32 MiB
// is V8's young generation (two 16 MiB semi-spaces, grown by the allocation rate of the connect loop; live
// heap after GC is ~9 MiB). Switchyard itself retains ~0.4 KB per endpoint (host-local IPAM's DirectoryView
// maps). --max-semi-space-size=1 (or --optimize-for-size) brings 1000 endpoints to ~68 MiB; reaching 60 MB
// needs TurboFan off as well: --no-opt with either (~57 MiB, on the edge), or --jitless / --lite-mode
// (~54 MiB; no WebAssembly, so no global fetch()).
// Kernel work: run inside the lab (scripts/lab.sh), as `pnpm bench` does.
// BENCH_MEMORY_COUNT=N (default 1000); BENCH_MEMORY_CONFIGS=default,semi-1 (names from `configs` below;
// default: default,semi-1,no-opt+ofs,lite-mode-quiet; --quick: default,lite-mode-quiet at 200); BENCH_MEMORY_REPEAT=R runs R rounds of every
// configuration (default 1) and reports medians; BENCH_MEMORY_SNAPSHOT=1 writes heap snapshots at 100 and N
// and logs the largest growth by constructor between them (writing snapshots inflates that child's rss).
import { benchDir } from './dirs.mjs';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { median, summary } from './stats.mjs';
import { loadLibrary } from './library.mjs';

const self = fileURLToPath(import.meta.url);
const MiB = 2 ** 20;
/** The target, 60 MB (decimal), in MiB. */
const targetMiB = 60e6 / MiB;

/** Node flags and environment of each configuration measured. */
export const configs = {
  default: { flags: [], env: {} },
  gc: { flags: ['--expose-gc'], env: {} },
  'semi-1': { flags: ['--max-semi-space-size=1'], env: {} },
  'semi-2': { flags: ['--max-semi-space-size=2'], env: {} },
  'semi-4': { flags: ['--max-semi-space-size=4'], env: {} },
  'old-32': { flags: ['--max-old-space-size=32'], env: {} },
  'optimize-for-size': { flags: ['--optimize-for-size'], env: {} },
  'lite-mode': { flags: ['--lite-mode'], env: {} },
  jitless: { flags: ['--jitless'], env: {} },
  'single-threaded-gc': { flags: ['--single-threaded-gc'], env: {} },
  'v8-pool-1': { flags: ['--v8-pool-size=1'], env: {} },
  'uv-pool-1': { flags: [], env: { UV_THREADPOOL_SIZE: '1' } },
  'malloc-arena-1': { flags: [], env: { MALLOC_ARENA_MAX: '1' } },
  'no-expose-wasm': { flags: ['--no-expose-wasm'], env: {} },
  'threads-1': { flags: ['--single-threaded-gc', '--v8-pool-size=1'], env: { UV_THREADPOOL_SIZE: '1', MALLOC_ARENA_MAX: '1' } },
  // --lite-mode is --jitless plus --optimize-for-size (and --no-expose-wasm, which it announces on stderr unless given).
  'lite-mode-quiet': { flags: ['--lite-mode', '--no-expose-wasm'], env: {} },
  'jitless+semi-1': { flags: ['--jitless', '--no-expose-wasm', '--max-semi-space-size=1'], env: {} },
  'no-opt+semi-1': { flags: ['--no-opt', '--max-semi-space-size=1'], env: {} },
  'no-opt+ofs': { flags: ['--no-opt', '--optimize-for-size'], env: {} },
  'no-opt+no-sparkplug+ofs': { flags: ['--no-opt', '--no-sparkplug', '--optimize-for-size'], env: {} },
  // What an embedder can do from inside an already running process (v8.setFlagsFromString before importing).
  'runtime-flags': { flags: [], env: {}, setFlags: ['--no-opt', '--max-semi-space-size=1', '--optimize-for-size'] },
  // Only what NODE_OPTIONS accepts (it refuses --lite-mode, --optimize-for-size, --no-opt, --no-expose-wasm).
  'node-options': { flags: [], env: { NODE_OPTIONS: '--max-semi-space-size=1' } },
  // With --jitless too (NODE_OPTIONS takes it, but V8 then warns on stderr that it disables --expose-wasm).
  'node-options-jitless': { flags: [], env: { NODE_OPTIONS: '--jitless --max-semi-space-size=1' } },
  // --lite-mode with fewer helper threads (no gain measured beyond --lite-mode's own).
  small: { flags: ['--lite-mode', '--no-expose-wasm', '--single-threaded-gc', '--v8-pool-size=1'], env: {} },
};

// ---------------------------------------------------------------------------------------------------
// Child side

function statusKiB() {
  const text = readFileSync('/proc/self/status', 'utf8');
  const field = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return { vmRSS: field('VmRSS'), rssAnon: field('RssAnon'), rssFile: field('RssFile'), rssShmem: field('RssShmem'), vmHWM: field('VmHWM'), threads: field('Threads') };
}

function sample() {
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size, physical: s.physical_space_size }]));
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces, status: statusKiB() };
}

/** A sample as it is, and (with --expose-gc) a second one after two full collections. */
function measure() {
  const raw = sample();
  if (typeof globalThis.gc !== 'function') return { raw };
  globalThis.gc();
  globalThis.gc();
  return { raw, gc: sample() };
}

async function child(opts) {
  for (const f of opts.setFlags ?? []) v8.setFlagsFromString(f);
  const out = { pid: process.pid, execArgv: process.execArgv, start: sample() };
  if (opts.mode === 'bare') return out;
  const { open } = await loadLibrary();
  out.imported = measure();
  if (opts.mode === 'import') return out;
  const stateDir = benchDir('swy-memory-');
  const sy = await open(stateDir);
  const c = sy.controller;
  const net = `mem${process.pid}`;
  const names = [];
  try {
    await c.createNetwork({ name: net, driver: 'bridge', options: { bridge: `swym${process.pid}`.slice(0, 15) }, ipam: { ipv4: [{ subnet: '10.91.0.0/16' }] } });
    out.at0 = measure();
    const connectMs = [];
    const t0 = performance.now();
    // CPU time as well as wall time: on a shared machine it tells the cost of a flag (--jitless) more steadily.
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < opts.count; i++) {
      const name = `m${i}`;
      await c.createSandbox({ name });
      names.push(name);
      const t = performance.now();
      await c.connect(net, name);
      connectMs.push(performance.now() - t);
      // A second point once the code paths are compiled, so that growth from here on is per endpoint.
      if (i + 1 === opts.warm) {
        out.atWarm = measure();
        if (opts.snapshot) out.snapshotWarm = v8.writeHeapSnapshot(join(opts.snapshot, `warm-${process.pid}.heapsnapshot`));
      }
    }
    out.fillSeconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    out.cpuMsPerEndpoint = (cpu.user + cpu.system) / 1000 / opts.count;
    out.userMsPerEndpoint = cpu.user / 1000 / opts.count;
    out.connect = summary(connectMs);
    out.atN = measure();
    if (opts.snapshot) out.snapshotN = v8.writeHeapSnapshot(join(opts.snapshot, `atN-${process.pid}.heapsnapshot`));
  } finally {
    for (const n of names) await c.deleteSandbox(n).catch(() => undefined);
    await c.deleteNetwork(net).catch(() => undefined);
    out.afterTeardown = measure();
    await sy.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] === self && process.argv[2] === '--child') {
  const result = await child(JSON.parse(process.argv[3]));
  process.stdout.write(JSON.stringify(result) + '\n');
}

// ---------------------------------------------------------------------------------------------------
// Parent side

function run(flags, env, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...flags, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(stdout.trim().split('\n').at(-1))) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}

/** One measurement in a fresh child process. */
export function measureChild({ flags = [], env = {}, setFlags, mode = 'full', count = 1000, snapshot } = {}) {
  return run(flags, env, [self, '--child', JSON.stringify({ mode, count, warm: Math.min(100, count), snapshot, setFlags })]);
}

/** The floor: a bare `node -e "setTimeout(()=>{},1e6)"` (with the same flags), read from /proc/<pid>/status once it has settled. */
export function floor({ flags = [], env = {}, settleMs = 500 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...flags, '-e', 'setTimeout(()=>{},1e6)'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    p.on('error', reject);
    setTimeout(() => {
      try {
        const text = readFileSync(`/proc/${p.pid}/status`, 'utf8');
        const field = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
        resolve({ vmRSS: field('VmRSS'), rssAnon: field('RssAnon'), rssFile: field('RssFile'), threads: field('Threads') });
      } catch (e) {
        reject(e);
      } finally {
        p.kill();
      }
    }, settleMs);
  });
}

/** Self size and count by constructor (node type:name) of a .heapsnapshot file. */
export function snapshotByConstructor(path) {
  const snap = JSON.parse(readFileSync(path, 'utf8'));
  const f = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [iType, iName, iSize, stride] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size'), f.length];
  const by = new Map();
  const nodes = snap.nodes;
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + iType]];
    const name = type === 'object' || type === 'native' || type === 'closure' || type === 'hidden' ? snap.strings[nodes[i + iName]] : '';
    const key = `${type}:${name.slice(0, 60)}`;
    const e = by.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + iSize];
    by.set(key, e);
  }
  return by;
}

/** The constructors that grew most between two snapshots, by self size. */
export function snapshotDiff(before, after, top = 25) {
  const a = snapshotByConstructor(before);
  const b = snapshotByConstructor(after);
  const rows = [...b].map(([k, v]) => ({ key: k, count: v.count - (a.get(k)?.count ?? 0), size: v.size - (a.get(k)?.size ?? 0) }));
  return rows.sort((x, y) => y.size - x.size).slice(0, top);
}

const mib = (bytes) => bytes / MiB;
const kib = (bytes) => bytes / 1024;
/** The heap spaces of a sample, their size in MiB: "new 2.0 old 9.5 code 1.8 …". */
const spaces = (s) =>
  Object.entries(s.spaces)
    .filter(([, v]) => v.size > 0)
    .map(([k, v]) => `${k.replace(/_space$/, '').replace(/_/g, '-')} ${mib(v.size).toFixed(1)}`)
    .join(' ');

// `count` from bench/run.mjs is the other benchmarks' size: the memory figure is always taken at BENCH_MEMORY_COUNT endpoints.
export default async function bench({ log, quick = false, repeat = Number(process.env.BENCH_MEMORY_REPEAT ?? 1), names } = {}) {
  const count = Number(process.env.BENCH_MEMORY_COUNT ?? (quick ? 200 : 1000));
  const selected = names ?? (process.env.BENCH_MEMORY_CONFIGS ?? (quick ? 'default,lite-mode-quiet' : 'default,semi-1,no-opt+ofs,lite-mode-quiet')).split(',');
  const rows = [];
  const warm = Math.min(100, count);
  const floors = [];
  for (let r = 0; r < repeat; r++) floors.push(await floor());
  const floorMiB = median(floors.map((s) => s.vmRSS / 1024));
  log(`memory: floor (bare node -e setTimeout) rss ${floorMiB.toFixed(1)} MiB (${floors.map((s) => `${(s.vmRSS / 1024).toFixed(1)}: anon ${(s.rssAnon / 1024).toFixed(1)}, file ${(s.rssFile / 1024).toFixed(1)}`).join('; ')})`);
  const imports = [];
  for (let r = 0; r < repeat; r++) imports.push(await measureChild({ mode: 'import' }));
  const importMiB = median(imports.map((s) => mib(s.imported.raw.rss)));
  const imp = imports[0].imported.raw;
  log(
    `memory: library imported, rss ${importMiB.toFixed(1)} MiB (anon ${(imp.status.rssAnon / 1024).toFixed(1)}, file ${(imp.status.rssFile / 1024).toFixed(1)}), heap ${mib(imp.heapUsed).toFixed(1)}/${mib(imp.heapTotal).toFixed(1)} MiB`,
  );
  rows.push({ name: 'rss, library imported only (peer: bare node)', ours: importMiB, peer: floorMiB, unit: 'MiB', lowerIsBetter: true });

  const snapshotDir = process.env.BENCH_MEMORY_SNAPSHOT === '1' ? benchDir('swy-memory-snap-') : undefined;
  for (const name of selected) if (!configs[name]) throw new Error(`memory: unknown configuration ${name} (one of ${Object.keys(configs).join(', ')})`);
  const results = Object.fromEntries(selected.map((name) => [name, []]));
  // Rounds: every configuration once per round, so whatever else the machine does lands on all alike.
  for (let r = 0; r < repeat; r++) {
    for (const name of selected) {
      const cfg = configs[name];
      const described = [...cfg.flags, ...Object.entries(cfg.env).map(([k, v]) => `${k}=${v}`), ...(cfg.setFlags ?? []).map((f) => `v8.setFlagsFromString(${f})`)].join(' ');
      log(`memory [${name}] ${described || '(no flags)'}: ${count} endpoints, round ${r + 1}/${repeat}…`);
      const res = await measureChild({ ...cfg, count, snapshot: snapshotDir });
      results[name].push(res);
      const g = (s) => (s.gc ? `, after gc heap used ${mib(s.gc.heapUsed).toFixed(1)} MiB rss ${mib(s.gc.rss).toFixed(1)}` : '');
      const line = (s) =>
        `rss ${mib(s.raw.rss).toFixed(1)} MiB (anon ${(s.raw.status.rssAnon / 1024).toFixed(1)}, file ${(s.raw.status.rssFile / 1024).toFixed(1)}, peak ${(s.raw.status.vmHWM / 1024).toFixed(1)}), heap ${mib(s.raw.heapUsed).toFixed(1)}/${mib(s.raw.heapTotal).toFixed(1)} MiB (${spaces(s.raw)}), external ${mib(s.raw.external).toFixed(1)}${g(s)}`;
      log(`  at 0: ${line(res.at0)}`);
      log(
        `  at ${count}: ${line(res.atN)}; connect median ${res.connect.median.toFixed(2)} ms, p95 ${res.connect.p95.toFixed(2)}, fill ${res.fillSeconds.toFixed(1)} s, cpu ${res.cpuMsPerEndpoint.toFixed(2)} ms/endpoint (user ${res.userMsPerEndpoint.toFixed(2)})`,
      );
      if (res.atWarm) log(`  at ${warm}: ${line(res.atWarm)}`);
      if (res.snapshotWarm && res.snapshotN) {
        log(`  largest growth by constructor, ${warm} -> ${count} endpoints (self size per endpoint; rss above is inflated by writing the snapshots):`);
        for (const d of snapshotDiff(res.snapshotWarm, res.snapshotN)) log(`    ${d.key.padEnd(50)} ${String(d.count).padStart(7)} objects ${(d.size / (count - warm)).toFixed(0).padStart(6)} B/endpoint`);
      }
    }
  }
  let baselineConnect;
  let baselineCpu;
  for (const name of selected) {
    const runs = results[name];
    const rss0 = median(runs.map((x) => mib(x.at0.raw.rss)));
    const rssN = median(runs.map((x) => mib(x.atN.raw.rss)));
    // Heap growth per endpoint from the warm point (code paths compiled) to N; after GC when the flags expose it.
    const heapPer = median(runs.map((x) => ((x.atN.gc ?? x.atN.raw).heapUsed - ((count > warm ? x.atWarm : x.at0).gc ?? (count > warm ? x.atWarm : x.at0).raw).heapUsed) / (count > warm ? count - warm : count)));
    log(
      `memory [${name}]: rss at 0 ${rss0.toFixed(1)} MiB, at ${count} ${rssN.toFixed(1)} MiB (${runs.map((x) => mib(x.atN.raw.rss).toFixed(1)).join(', ')}), connect median ${median(runs.map((x) => x.connect.median)).toFixed(2)} ms`,
    );
    rows.push({ name: `rss at ${count} endpoints [${name}] (peer: 60 MB target)`, ours: rssN, peer: targetMiB, unit: 'MiB', lowerIsBetter: true, detail: runs });
    rows.push({ name: `rss at 0 endpoints [${name}] (peer: bare node)`, ours: rss0, peer: floorMiB, unit: 'MiB', lowerIsBetter: true });
    rows.push({
      name: `rss growth per endpoint [${name}] (peer: heap used per endpoint from 100 on, live data only under --expose-gc)`,
      ours: kib(((rssN - rss0) * MiB) / count),
      peer: kib(heapPer),
      unit: 'KiB',
      lowerIsBetter: true,
    });
    const connect = median(runs.map((x) => x.connect.median));
    baselineConnect ??= connect;
    rows.push({ name: `connect while filling 0..${count} [${name}], median (peer: [${selected[0]}])`, ours: connect, peer: baselineConnect, unit: 'ms', lowerIsBetter: true });
    const cpu = median(runs.map((x) => x.cpuMsPerEndpoint));
    baselineCpu ??= cpu;
    rows.push({ name: `cpu per endpoint, create + connect [${name}] (peer: [${selected[0]}])`, ours: cpu, peer: baselineCpu, unit: 'ms', lowerIsBetter: true });
  }
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
  return rows;
}
