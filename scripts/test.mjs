#!/usr/bin/env node
// Runs every test phase in order and ends with one plain closing line: "N passed, N failed, N skipped".
//   unit    — fast, no root, FakeKernel and in-memory fakes
//   kernel  — real kernel, inside a private network namespace (scripts/lab.sh)
//   uml     — ipvlan / 802.1Q tests inside user-mode Linux, for kernels that lack them (scripts/uml-run.sh)
// `node scripts/test.mjs unit` runs one phase.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const jest = join(root, 'node_modules/.bin/jest');
const out = mkdtempSync(join(tmpdir(), 'swy-tests-'));
const only = process.argv[2];

const phases = [
  { name: 'unit', cmd: [jest], env: { SWY_TESTS: 'unit' } },
  { name: 'kernel', cmd: ['scripts/lab.sh', jest, '--runInBand'], env: { SWY_TESTS: 'kernel' } },
  { name: 'uml', cmd: ['scripts/uml-run.sh', jest, '--runInBand'], env: { SWY_TESTS: 'uml' }, when: () => existsSync(join(root, 'scripts/uml-run.sh')) },
].filter((p) => (only ? p.name === only : true) && (!p.when || p.when()));

const totals = { passed: 0, failed: 0, skipped: 0 };
let broken = false;
for (const phase of phases) {
  const file = join(out, `${phase.name}.json`);
  console.log(`\n=== ${phase.name} tests ===`);
  const [cmd, ...args] = phase.cmd;
  const r = spawnSync(cmd, [...args, '--json', `--outputFile=${file}`], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...phase.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim() },
  });
  if (!existsSync(file)) {
    console.error(`${phase.name}: the test runner produced no results (exit ${r.status}); counting the phase as failed`);
    broken = true;
    totals.failed += 1;
    continue;
  }
  const res = JSON.parse(readFileSync(file, 'utf8'));
  totals.passed += res.numPassedTests;
  totals.failed += res.numFailedTests + res.numRuntimeErrorTestSuites;
  totals.skipped += res.numPendingTests + res.numTodoTests;
  if (res.numTotalTests === 0) {
    console.error(`${phase.name}: no tests ran`);
    broken = true;
  }
  if (r.status !== 0) broken = true;
}
rmSync(out, { recursive: true, force: true });
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(broken || totals.failed > 0 ? 1 : 0);
