#!/usr/bin/env node
// `pnpm bench`: every benchmark in one run, each beside its peer measured in the same run, as ratios.
// Kernel work happens only inside a private lab namespace (re-exec under scripts/lab.sh).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
if (process.env.SWITCHYARD_LAB !== '1') {
  const r = spawnSync(`${root}scripts/lab.sh`, [process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const log = (line) => process.stderr.write(`  ${line}\n`);
const count = Number(process.env.BENCH_COUNT ?? 200);
const rows = [];
// BENCH_ONLY=firewall (or ipam, connect, scale, cni-plugins) runs one of them.
const only = process.env.BENCH_ONLY;
for (const mod of ['./ipam.mjs', './connect.mjs', './scale.mjs', './firewall.mjs', './cni-plugins.mjs'].filter((m) => !only || m === `./${only}.mjs`)) {
  const { default: bench } = await import(mod);
  rows.push(...(await bench({ log, runs: 3, count })));
}

const speedup = (r) => (r.lowerIsBetter ? r.peer / r.ours : r.ours / r.peer);
const fmt = (v, unit) => (unit === 'ms' ? `${v.toFixed(2)} ms` : unit === 'x' ? `${v.toFixed(2)}x` : unit === 'Gbit/s' ? `${v.toFixed(2)} ${unit}` : `${Math.round(v).toLocaleString('en-US')} ${unit}`);
const table = [['benchmark', 'switchyard', 'peer (CNI)', 'ratio ours/peer', 'speed-up'], ...rows.map((r) => [r.name, fmt(r.ours, r.unit), fmt(r.peer, r.unit), (r.ours / r.peer).toFixed(2), `${speedup(r).toFixed(1)}x`])];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
console.log('');
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log('\nratio = ours / peer (for latencies, lower is better; speed-up = how many times faster Switchyard is).');
