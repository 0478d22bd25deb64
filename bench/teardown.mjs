// Bring-up and teardown of BENCH_COUNT sandboxes (default 200), whole life cycle, alternating operation
// by operation between Switchyard's library and the CNI reference bridge plugin exec'd as a runtime does:
//   up:   Switchyard createSandbox + connect          |  `ip netns add` + bridge ADD
//   down: Switchyard disconnect + deleteSandbox       |  bridge DEL + `ip netns del`
// After Switchyard's last teardown, `sy.settle()` (where the library has it: it waits for the kernel
// deletions it deferred) is timed and counted in Switchyard's down total. Totals are sums of each
// side's own operation times; the reported figure is the median over `runs` repetitions.
// Alternating lets work that Switchyard defers (its batched link deletion fires 50 ms after a disconnect)
// run while the CNI side's operation is on the clock, so each repetition also takes both sides down
// back to back (all of Switchyard's, then settle(), then all of CNI's), on the wall clock, after a
// bring-up that is timed the same way (all of Switchyard's, then all of CNI's): the fair figures for bulk
// work, without either side's after-effects landing on the other's clock. BENCH_TEARDOWN_SERIAL=0 skips that round.
import { benchDir } from './dirs.mjs';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { median, summary } from './stats.mjs';
import { execCni } from './cni.mjs';
import { loadLibrary } from './library.mjs';

/** `ip args…` as its own process, like a runtime's; rejects on a non-zero exit. */
function ipExec(...args) {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ip ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
/** Running totals in seconds: [[0, 0], [1, t1], [2, t1 + t2], …]. */
const cumulative = (xs) => xs.reduce((acc, v, i) => [...acc, [i + 1, acc[i][1] + v / 1000]], [[0, 0]]);

export default async function bench({ log, count = 200, runs = 3 }) {
  const { open } = await loadLibrary();
  const stateDir = benchDir('swy-teardown-');
  const cniDir = benchDir('cni-teardown-');
  const sy = await open(stateDir);
  const c = sy.controller;
  const hasSettle = typeof sy.settle === 'function';
  const serial = process.env.BENCH_TEARDOWN_SERIAL !== '0';
  const conf = { cniVersion: '1.0.0', name: 'cniteardown', type: 'bridge', bridge: 'cnitd0', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.90.0.0/16' }]], dataDir: cniDir } };
  const cniUp = async (n) => {
    await ipExec('netns', 'add', n);
    await execCni('bridge', 'ADD', conf, { containerId: n, netns: `/run/netns/${n}` });
  };
  const cniDown = async (n) => {
    await execCni('bridge', 'DEL', conf, { containerId: n, netns: `/run/netns/${n}` });
    await ipExec('netns', 'del', n);
  };
  const oursUp = async (n) => {
    await c.createSandbox({ name: n });
    await c.connect('td', n);
  };
  const oursDown = async (n) => {
    await c.disconnect('td', n);
    await c.deleteSandbox(n);
  };

  const reps = [];
  const leftovers = { ours: new Set(), cni: new Set() };
  try {
    await c.createNetwork({ name: 'td', driver: 'bridge', options: { bridge: 'swytd0' }, ipam: { ipv4: [{ subnet: '10.91.0.0/16' }] } });
    // Warm-up (not timed): JIT, lazy loading, the bridges' first ports.
    for (let i = 0; i < 5; i++) {
      await oursUp(`tdwarm${i}`);
      await cniUp(`ctdwarm${i}`);
      await oursDown(`tdwarm${i}`);
      await cniDown(`ctdwarm${i}`);
    }
    if (hasSettle) await sy.settle();
    log(`teardown: ${count} sandboxes up and down, ${runs} run(s), Switchyard / CNI bridge alternating${hasSettle ? ' (with sy.settle())' : ' (this core has no settle())'}…`);
    for (let r = 0; r < runs; r++) {
      const names = Array.from({ length: count }, (_, i) => `td${r}x${i}`);
      const t = { oursUp: [], cniUp: [], oursDown: [], cniDown: [], settle: 0 };
      for (const n of names) {
        leftovers.ours.add(n);
        t.oursUp.push(await timed(() => oursUp(n)));
        leftovers.cni.add(`c${n}`);
        t.cniUp.push(await timed(() => cniUp(`c${n}`)));
      }
      for (const n of names) {
        t.oursDown.push(await timed(() => oursDown(n)));
        leftovers.ours.delete(n);
        t.cniDown.push(await timed(() => cniDown(`c${n}`)));
        leftovers.cni.delete(`c${n}`);
      }
      if (hasSettle) t.settle = await timed(() => sy.settle());
      const rep = {
        ...t,
        totals: { oursUp: sum(t.oursUp) / 1000, cniUp: sum(t.cniUp) / 1000, oursDown: (sum(t.oursDown) + t.settle) / 1000, cniDown: sum(t.cniDown) / 1000 },
      };
      reps.push(rep);
      const x = rep.totals;
      log(`teardown run ${r + 1}: up ours ${x.oursUp.toFixed(2)} s, CNI ${x.cniUp.toFixed(2)} s; down ours ${x.oursDown.toFixed(2)} s (settle ${(t.settle / 1000).toFixed(2)} s), CNI ${x.cniDown.toFixed(2)} s`);
      if (serial) {
        const more = Array.from({ length: count }, (_, i) => `ts${r}x${i}`);
        const up = {
          ours: await timed(async () => {
            for (const n of more) {
              leftovers.ours.add(n);
              await oursUp(n);
            }
          }),
          cni: await timed(async () => {
            for (const n of more) {
              leftovers.cni.add(`c${n}`);
              await cniUp(`c${n}`);
            }
          }),
        };
        if (hasSettle) await sy.settle();
        rep.serial = {
          upOurs: up.ours,
          upCni: up.cni,
          ours: await timed(async () => {
            for (const n of more) {
              await oursDown(n);
              leftovers.ours.delete(n);
            }
            if (hasSettle) await sy.settle();
          }),
          cni: await timed(async () => {
            for (const n of more) {
              await cniDown(`c${n}`);
              leftovers.cni.delete(`c${n}`);
            }
          }),
        };
        log(
          `teardown run ${r + 1}, back to back: up ours ${(rep.serial.upOurs / 1000).toFixed(2)} s, CNI ${(rep.serial.upCni / 1000).toFixed(2)} s; down ours ${(rep.serial.ours / 1000).toFixed(2)} s, CNI ${(rep.serial.cni / 1000).toFixed(2)} s`,
        );
      }
    }
  } finally {
    log('teardown: cleaning up…');
    for (const n of leftovers.ours) await c.deleteSandbox(n).catch(() => undefined);
    for (const n of leftovers.cni) await cniDown(n).catch(() => undefined);
    await c.deleteNetwork('td').catch(() => undefined);
    if (hasSettle) await sy.settle().catch(() => undefined);
    spawnSync('ip', ['link', 'del', 'cnitd0']);
    await sy.close();
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(cniDir, { recursive: true, force: true });
  }

  const tot = (k) => median(reps.map((r) => r.totals[k]));
  const pooled = (k) => summary(reps.flatMap((r) => r[k]));
  const totals = { oursUp: tot('oursUp'), cniUp: tot('cniUp'), oursDown: tot('oursDown'), cniDown: tot('cniDown') };
  const ops = { oursUp: pooled('oursUp'), cniUp: pooled('cniUp'), oursDown: pooled('oursDown'), cniDown: pooled('cniDown') };
  const settle = median(reps.map((r) => r.settle));
  log(
    `teardown (median of ${runs}): up ours ${totals.oursUp.toFixed(2)} s / CNI ${totals.cniUp.toFixed(2)} s (ratio ${(totals.oursUp / totals.cniUp).toFixed(2)}); down ours ${totals.oursDown.toFixed(2)} s / CNI ${totals.cniDown.toFixed(2)} s (ratio ${(totals.oursDown / totals.cniDown).toFixed(2)})`,
  );
  const p95 = (a, b) => ({ ours: ops[a].p95, peer: ops[b].p95 });
  const rows = [
    { name: `bring-up total, ${count} sandboxes (median of ${runs})`, ours: totals.oursUp, peer: totals.cniUp, unit: 's', lowerIsBetter: true },
    { name: `teardown total, ${count} sandboxes (median of ${runs})${hasSettle ? ', incl. settle()' : ''}`, ours: totals.oursDown, peer: totals.cniDown, unit: 's', lowerIsBetter: true },
    { name: 'bring-up per sandbox, median', ours: ops.oursUp.median, peer: ops.cniUp.median, unit: 'ms', lowerIsBetter: true, p95: p95('oursUp', 'cniUp') },
    { name: 'teardown per sandbox, median', ours: ops.oursDown.median, peer: ops.cniDown.median, unit: 'ms', lowerIsBetter: true, p95: p95('oursDown', 'cniDown') },
  ];
  if (hasSettle) rows.push({ name: 'settle() after the last teardown (median)', ours: settle, peer: NaN, unit: 'ms', lowerIsBetter: true });
  if (serial) {
    totals.serialUpOurs = median(reps.map((r) => r.serial.upOurs)) / 1000;
    totals.serialUpCni = median(reps.map((r) => r.serial.upCni)) / 1000;
    log(`bring-up back to back (median of ${runs}): up ours ${totals.serialUpOurs.toFixed(2)} s / CNI ${totals.serialUpCni.toFixed(2)} s (ratio ${(totals.serialUpOurs / totals.serialUpCni).toFixed(2)})`);
    rows.push({ name: `bring-up total, ${count} sandboxes, back to back (wall clock, median of ${runs})`, ours: totals.serialUpOurs, peer: totals.serialUpCni, unit: 's', lowerIsBetter: true });
    totals.serialOurs = median(reps.map((r) => r.serial.ours)) / 1000;
    totals.serialCni = median(reps.map((r) => r.serial.cni)) / 1000;
    log(`teardown back to back (median of ${runs}): down ours ${totals.serialOurs.toFixed(2)} s / CNI ${totals.serialCni.toFixed(2)} s (ratio ${(totals.serialOurs / totals.serialCni).toFixed(2)})`);
    rows.push({ name: `teardown total, ${count} sandboxes, back to back (wall clock, median of ${runs})${hasSettle ? ', incl. settle()' : ''}`, ours: totals.serialOurs, peer: totals.serialCni, unit: 's', lowerIsBetter: true });
  }
  // Each line: the repetition whose total for that line is the median one, as running totals against sandboxes done.
  const mid = (k) => [...reps].sort((a, b) => a.totals[k] - b.totals[k])[reps.length >> 1];
  const oursDownRep = mid('oursDown');
  const oursDownCurve = cumulative(oursDownRep.oursDown);
  if (hasSettle) oursDownCurve.push([count, oursDownCurve.at(-1)[1] + oursDownRep.settle / 1000]);
  const series = {
    teardown: {
      title: `Bring-up and teardown of ${count} sandboxes, running total`,
      subtitle: `alternating op by op; each line is its median repetition of ${runs}${hasSettle ? '; Switchyard down ends with settle()' : ''}`,
      x: { label: 'sandboxes done' },
      y: { label: 'seconds' },
      series: [
        { name: 'Switchyard up', points: cumulative(mid('oursUp').oursUp) },
        { name: 'CNI bridge up', points: cumulative(mid('cniUp').cniUp) },
        { name: 'Switchyard down', points: oursDownCurve },
        { name: 'CNI bridge down', points: cumulative(mid('cniDown').cniDown) },
      ],
      totals,
      settleMs: settle,
      hasSettle,
    },
  };
  return { rows, series };
}
