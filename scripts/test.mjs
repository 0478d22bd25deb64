#!/usr/bin/env node
// Builds the workspace, runs test phases in order and ends with one plain closing line:
// "N passed, N failed, N skipped".
//   unit    — fast, no root, FakeKernel and in-memory fakes
//   kernel  — real kernel, inside a private network namespace (scripts/lab.sh)
//   uml     — every real-kernel test again, plus the ipvlan / 802.1Q ones, inside user-mode Linux,
//             whose kernel has what this machine's lacks (scripts/uml-run.sh)
// `node scripts/test.mjs unit kernel` runs those phases; no argument or `all` runs every phase.
// Counting is honest: a phase whose runner produced no results, ran no test, or exited non-zero with
// no failed test counts one failure of its own, so the closing line never says "0 failed" for a failed run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const jest = join(root, 'node_modules/.bin/jest');

const phases = {
  unit: { cmd: [jest], env: { SWY_TESTS: 'unit' } },
  kernel: { cmd: ['scripts/lab.sh', jest, '--runInBand'], env: { SWY_TESTS: 'kernel' } },
  uml: { cmd: ['scripts/uml-run.sh', jest, '--runInBand'], env: { SWY_TESTS: 'uml' } },
};

const asked = process.argv.slice(2);
const unknown = asked.filter((a) => a !== 'all' && !(a in phases));
if (unknown.length > 0) {
  console.error(`test.mjs: unknown phase ${unknown.join(', ')}; phases are ${Object.keys(phases).join(', ')} or all`);
  process.exit(64);
}
const selected = asked.length === 0 || asked.includes('all') ? Object.keys(phases) : Object.keys(phases).filter((p) => asked.includes(p));

// Every phase needs the build: the CLI tests run bin/switchyard.js, the example driver uses core's dist.
console.log('=== build ===');
// tsc, then the CNI plugin bundle the kernel tests exec (packages/cni/scripts/bundle.mjs).
const build = [
  [join(root, 'node_modules/.bin/tsc'), ['-b']],
  [process.execPath, [join(root, 'packages/cni/scripts/bundle.mjs')]],
].reduce((r, [cmd, args]) => (r.status === 0 ? spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }) : r), { status: 0 });
if (build.status !== 0) {
  console.error('test.mjs: the build failed, so no test ran');
  console.log('\n0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

const out = mkdtempSync(join(tmpdir(), 'swy-tests-'));
const totals = { passed: 0, failed: 0, skipped: 0 };
const summary = [];
for (const name of selected) {
  const phase = phases[name];
  const file = join(out, `${name}.json`);
  console.log(`\n=== ${name} tests ===`);
  const [cmd, ...args] = phase.cmd;
  const r = spawnSync(cmd, [...args, '--json', `--outputFile=${file}`], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...phase.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim() },
  });
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const problems = [];
  if (existsSync(file)) {
    const res = JSON.parse(readFileSync(file, 'utf8'));
    passed = res.numPassedTests;
    failed = res.numFailedTests + res.numRuntimeErrorTestSuites;
    skipped = res.numPendingTests + res.numTodoTests;
    if (res.numTotalTests === 0) problems.push('no test ran');
  } else {
    problems.push('the test runner produced no results');
  }
  if (r.status !== 0 && failed === 0 && problems.length === 0) problems.push(`the runner exited ${r.status ?? r.signal} with no failed test`);
  failed += problems.length;
  totals.passed += passed;
  totals.failed += failed;
  totals.skipped += skipped;
  summary.push(`${name} phase: passed ${passed}, failed ${failed}, skipped ${skipped}${problems.length ? ` (${problems.join('; ')})` : ''}`);
}
rmSync(out, { recursive: true, force: true });
console.log(`\n${summary.join('\n')}`);
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 ? 1 : 0);
