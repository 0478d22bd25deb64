#!/usr/bin/env node
// `pnpm bench`: every benchmark in one run, each beside its peer measured in the same run, as ratios.
// Kernel work happens only inside a private lab namespace (re-exec under scripts/lab.sh).
//   BENCH_ONLY=ipam|connect|scale|firewall|cni-plugins|teardown|retire|parallel|cli-start|memory|dns|multi-host   runs one of them
//   --quick (or BENCH_QUICK=1)   small sizes (scale 10,100 with 5 probes, count 50, one run, parallel 1 and 4
//                                in flight); prints the table and writes nothing
//   --docs-only                  runs nothing: redraws the stored charts and rebuilds the docs region from results.json
// A full run writes docs/perf/<chart>.svg for the benchmarks that ran, keeps every benchmark's last results
// in docs/perf/results.json, and rebuilds the region between the bench markers in docs/performance.md from it.
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
if (process.env.SWITCHYARD_LAB !== '1') {
  const r = spawnSync(`${root}scripts/lab.sh`, [process.execPath, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const BENCHES = ['ipam', 'connect', 'scale', 'firewall', 'cni-plugins', 'teardown', 'retire', 'parallel', 'cli-start', 'memory', 'dns', 'multi-host'];
const log = (line) => process.stderr.write(`  ${line}\n`);
const quick = process.argv.slice(2).includes('--quick') || process.env.BENCH_QUICK === '1';
// --docs-only: runs nothing; redraws every stored chart and rebuilds the docs region from docs/perf/results.json.
const docsOnly = process.argv.slice(2).includes('--docs-only');
const count = Number(process.env.BENCH_COUNT ?? (quick ? 50 : 200));
const runs = quick ? 1 : 3;
const only = process.env.BENCH_ONLY;
// BENCH_ONLY may also name another bench/<name>.mjs that is not (yet) in the list.
if (only && !BENCHES.includes(only)) {
  if (!existsSync(join(root, 'bench', `${only}.mjs`))) {
    console.error(`BENCH_ONLY=${only}: no such benchmark (one of ${BENCHES.join(', ')})`);
    process.exit(2);
  }
  BENCHES.push(only);
}
const ran = {};
const failed = [];
for (const name of BENCHES.filter((b) => !docsOnly && (!only || b === only))) {
  // A benchmark that throws is reported and the others still run; its stored results are left as they were.
  try {
    const { default: bench } = await import(`./${name}.mjs`);
    const out = await bench({ log, runs, count, quick });
    ran[name] = Array.isArray(out) ? { rows: out, series: {} } : { rows: out.rows, series: out.series ?? {} };
  } catch (e) {
    failed.push(name);
    log(`${name}: FAILED: ${e.stack ?? e}`);
  }
  const left = execFileSync('ip', ['netns', 'list']).toString().trim();
  if (left) log(`${name}: left ${left.split('\n').length} network namespace(s) behind in the lab`);
}

const finite = (v) => typeof v === 'number' && Number.isFinite(v);
const speedup = (r) => (r.lowerIsBetter ? r.peer / r.ours : r.ours / r.peer);
const fmt = (v, unit) => {
  if (!finite(v)) return '—';
  if (unit === 'ms' || unit === 's' || unit === 'Gbit/s') return `${v.toFixed(2)} ${unit}`;
  if (unit === 'x') return `${v.toFixed(2)}x`;
  return `${Math.round(v).toLocaleString('en-US')} ${unit}`;
};
const ratio = (r) => (finite(r.ours) && finite(r.peer) ? (r.ours / r.peer).toFixed(2) : '—');
const speed = (r) => (finite(r.ours) && finite(r.peer) ? `${speedup(r).toFixed(1)}x` : '—');
const p95 = (r, side) => fmt(r.p95?.[side] ?? r.detail?.[side]?.p95, r.unit);
const HEAD = ['benchmark', 'switchyard', 'p95', 'peer (CNI)', 'p95', 'ratio ours/peer', 'speed-up'];
const cells = (r) => [r.name, fmt(r.ours, r.unit), p95(r, 'ours'), fmt(r.peer, r.unit), p95(r, 'peer'), ratio(r), speed(r)];

const table = [HEAD, ...Object.values(ran).flatMap((b) => b.rows.map(cells))];
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
console.log('');
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log('\nratio = ours / peer (for latencies, lower is better; speed-up = how many times faster Switchyard is).');

if (quick) {
  console.log('(--quick: nothing written to docs/)');
} else if (Object.keys(ran).length > 0 || docsOnly) {
  await writeDocs();
}
if (failed.length > 0) {
  console.error(`\nFAILED: ${failed.join(', ')} (see above)`);
  process.exitCode = 1;
}

async function writeDocs() {
  const { lineChart, checkSvg } = await import('./plot.mjs');
  const prettier = await import('prettier');
  const perfDir = join(root, 'docs/perf');
  const resultsFile = join(perfDir, 'results.json');
  const docFile = join(root, 'docs/performance.md');
  mkdirSync(perfDir, { recursive: true });
  const stored = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : { benches: {} };
  const env = {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    kernel: execFileSync('uname', ['-r']).toString().trim(),
    nproc: Number(execFileSync('nproc').toString().trim()) || cpus().length,
    node: process.version,
    count,
    runs,
  };
  if (docsOnly) {
    for (const b of Object.values(stored.benches)) {
      for (const [chart, spec] of Object.entries(b.series ?? {})) {
        const svg = lineChart(spec);
        checkSvg(svg);
        writeFileSync(join(perfDir, `${chart}.svg`), svg);
        log(`redrew docs/perf/${chart}.svg`);
      }
    }
  }
  for (const [name, { rows, series }] of Object.entries(ran)) {
    for (const [chart, spec] of Object.entries(series)) {
      const svg = lineChart(spec);
      checkSvg(svg);
      writeFileSync(join(perfDir, `${chart}.svg`), svg);
      log(`wrote docs/perf/${chart}.svg`);
    }
    stored.benches[name] = {
      ...env,
      rows: rows.map(({ detail, ...r }) => (r.p95 === undefined && finite(detail?.ours?.p95) ? { ...r, p95: { ours: detail.ours.p95, peer: detail.peer?.p95 } } : r)),
      charts: Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v.title])),
      series,
    };
  }
  if (!docsOnly) stored.updated = env.date;
  const config = (await prettier.resolveConfig(resultsFile)) ?? {};
  writeFileSync(
    resultsFile,
    await prettier.format(
      JSON.stringify(stored, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
      { ...config, parser: 'json' },
    ),
  );
  log('wrote docs/perf/results.json');

  const region = await prettier.format(renderRegion(stored), { ...config, parser: 'markdown' });
  const BEGIN = '<!-- bench:begin -->';
  const END = '<!-- bench:end -->';
  let doc = readFileSync(docFile, 'utf8');
  if (!doc.includes(BEGIN) || !doc.includes(END)) {
    // The markers go right after the "## Running it" section, before the next second-level heading.
    const at = doc.indexOf('\n## Running it');
    if (at < 0) throw new Error('docs/performance.md has no "## Running it" section to put the bench markers after');
    const next = doc.indexOf('\n## ', at + 1);
    const cut = next < 0 ? doc.length : next + 1;
    doc = `${doc.slice(0, cut)}${BEGIN}\n${END}\n\n${doc.slice(cut)}`;
  }
  const b = doc.indexOf(BEGIN) + BEGIN.length;
  const e = doc.indexOf(END);
  doc = `${doc.slice(0, b)}\n\n${region.trim()}\n\n${doc.slice(e)}`;
  writeFileSync(docFile, doc);
  log('rewrote the bench region of docs/performance.md');
}

/** The generated region: per benchmark its run's environment, its rows as a markdown table and its charts. */
function renderRegion(stored) {
  const md = (row) => `| ${row.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  const out = [
    '## Latest results (generated)',
    '',
    '_Written by `pnpm bench` from `docs/perf/results.json` (each benchmark keeps the results of its last full run; do not edit by hand)._',
    'Medians, with p95 where measured; ratio = ours / peer (for latencies and totals lower is better, for rates higher); speed-up = how many times faster Switchyard is.',
    '',
  ];
  for (const name of [...BENCHES, ...Object.keys(stored.benches).filter((n) => !BENCHES.includes(n))].filter((n) => stored.benches[n])) {
    const b = stored.benches[name];
    out.push(`### ${name}`, '', `Run ${b.date.replace('T', ' ').replace('Z', ' UTC')} · Linux ${b.kernel} · ${b.nproc} cores · Node ${b.node} · count ${b.count}, ${b.runs} run(s)`, '');
    out.push(md(HEAD), md(HEAD.map((_, i) => (i === 0 ? '---' : '---:'))));
    for (const r of b.rows) out.push(md(cells({ ...r, ours: r.ours ?? NaN, peer: r.peer ?? NaN })));
    out.push('');
    for (const [chart, title] of Object.entries(b.charts ?? {})) out.push(`![${title}](perf/${chart}.svg)`, '');
  }
  return out.join('\n');
}
