// Deferred against immediate link deletion (BENCH_ONLY=retire): two library instances in one process,
// each with its own bridge network of N connected sandboxes (min(BENCH_COUNT, 100)); disconnects alternate
// operation by operation between the default instance (links retired, deleted in batches) and one
// created with linkDeletion: 'immediate'. The deferred side's batch is held back until settle(), which
// is timed and added to its total, so both totals hold all of the kernel's deletion work.
import { benchDir } from './dirs.mjs';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { summary } from './stats.mjs';
import { loadLibrary } from './library.mjs';

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

export default async function bench({ log, count = 200, runs = 3 }) {
  const n = Math.min(count, 100);
  const lib = await loadLibrary();
  const open = async (tag, linkDeletion) => {
    const stateDir = benchDir(`swy-retire-${tag}-`);
    const sy = await lib.open(stateDir, { linkDeletion });
    await sy.controller.createNetwork({ name: 'n', driver: 'bridge', options: { bridge: `swyret${tag}` }, ipam: { ipv4: [{ subnet: `10.8${tag}.0.0/16` }] } });
    return { sy, stateDir };
  };
  // The deferred side's timer is pushed out of reach: its whole batch is the timed settle().
  const deferred = await open('1', { delayMs: 1e9, maxBatch: 1e6 });
  const immediate = await open('2', 'immediate');
  const ours = [];
  const theirs = [];
  const totals = { ours: [], theirs: [], settle: [] };
  try {
    for (let run = 0; run < runs; run++) {
      log(`retire: run ${run + 1}/${runs}, ${n} sandboxes each, disconnects alternating deferred / immediate…`);
      for (let i = 0; i < n; i++) {
        for (const [tag, side] of [
          ['d', deferred],
          ['i', immediate],
        ]) {
          await side.sy.controller.createSandbox({ name: `${tag}${i}` });
          await side.sy.controller.connect('n', `${tag}${i}`);
        }
      }
      const a = [];
      const b = [];
      for (let i = 0; i < n; i++) {
        let t0 = performance.now();
        await deferred.sy.controller.disconnect('n', `d${i}`);
        a.push(performance.now() - t0);
        t0 = performance.now();
        await immediate.sy.controller.disconnect('n', `i${i}`);
        b.push(performance.now() - t0);
      }
      const t0 = performance.now();
      await deferred.sy.settle();
      const settle = performance.now() - t0;
      ours.push(...a);
      theirs.push(...b);
      totals.ours.push(sum(a) + settle);
      totals.theirs.push(sum(b));
      totals.settle.push(settle);
      for (const [tag, side] of [
        ['d', deferred],
        ['i', immediate],
      ]) {
        for (let i = 0; i < n; i++) await side.sy.controller.deleteSandbox(`${tag}${i}`);
      }
    }
  } finally {
    for (const side of [deferred, immediate]) {
      await side.sy.controller.deleteNetwork('n').catch(() => undefined);
      await side.sy.close();
      rmSync(side.stateDir, { recursive: true, force: true });
    }
  }
  const o = summary(ours);
  const t = summary(theirs);
  const med = (xs) => summary(xs).median;
  return [
    { name: 'disconnect, deferred (ours) vs immediate deletion (peer), median', ours: o.median, peer: t.median, unit: 'ms', lowerIsBetter: true, p95: { ours: o.p95, peer: t.p95 } },
    { name: `${n} disconnects + deleting their links, total (median of ${runs})`, ours: med(totals.ours), peer: med(totals.theirs), unit: 'ms', lowerIsBetter: true },
    { name: `the batch deleting ${n} veth pairs (settle), median of ${runs}`, ours: med(totals.settle), peer: NaN, unit: 'ms', lowerIsBetter: true },
  ];
}
