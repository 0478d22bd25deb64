import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireLab } from '../../testing/lab.js';

// The conformance suite must fail a driver that breaks its promises, on the real kernel. The broken
// drivers (fixtures/broken-drivers.ts) run in a child jest inside a fresh lab of their own, so that
// what they leak vanishes with it and cannot reach the other test files.

const repoRoot = new URL('../../../../../', import.meta.url).pathname;

interface AssertionResult {
  ancestorTitles: string[];
  title: string;
  status: 'passed' | 'failed' | 'pending' | 'skipped' | 'todo';
  failureMessages: string[];
}

/** Runs one fixture file (optionally only the tests matching `only`) in a child jest inside a fresh lab; resolves to its per-test results. */
async function runFixture(file: string, only?: RegExp): Promise<AssertionResult[]> {
  const out = mkdtempSync(join(tmpdir(), 'swy-broken-'));
  try {
    const results = join(out, 'results.json');
    const args = [join(repoRoot, 'node_modules/.bin/jest'), '--runInBand', '--json', `--outputFile=${results}`, ...(only ? ['-t', only.source] : []), file];
    const child = spawn(join(repoRoot, 'scripts/lab.sh'), args, { cwd: repoRoot, env: { ...process.env, SWITCHYARD_LAB_NEW: '1', SWY_TESTS: 'fixtures' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // The child must fail (the drivers are broken), but it must have run: a results file with tests in it.
    expect({ file, status }).toEqual({ file, status: 1 });
    const parsed = JSON.parse(readFileSync(results, 'utf8')) as { numTotalTests: number; testResults: Array<{ assertionResults: AssertionResult[] }> };
    if (parsed.numTotalTests === 0) throw new Error(`no test ran in ${file}:\n${stderr}`);
    return parsed.testResults.flatMap((t) => t.assertionResults);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const LEAK_TESTS = ['leaves no link, address or route behind after disconnect, sandbox removal and network delete', 'leaves the sandbox as it was after a disconnect: no interface, address or route of the network stays inside'];
const CLEAN_TESTS = ['refuses an unknown option with an InvalidArgument error and creates nothing', 'creates and deletes a network, leaving the kernel as it found it'];
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('the conformance suite on the real kernel, against deliberately broken drivers', () => {
  let neverRoutes: AssertionResult[];
  let leaks: AssertionResult[];
  beforeAll(async () => {
    requireLab();
    // Each in its own lab, so both run at once. The leaking driver runs only the tests asserted below:
    // every other test that connects a sandbox fails too, each after the leak check's full wait.
    [neverRoutes, leaks] = await Promise.all([
      runFixture('packages/core/src/controller/__tests__/fixtures/never-routes.conformance.ts'),
      runFixture('packages/core/src/controller/__tests__/fixtures/leaks-on-leave.conformance.ts', new RegExp([...LEAK_TESTS, ...CLEAN_TESTS].map(escape).join('|'))),
    ]);
  });

  it('fails a driver that never gives sandboxes a default route in the default-route test, and there only', () => {
    expect(neverRoutes.filter((a) => a.status === 'failed').map((a) => a.title)).toEqual(['gives a sandbox on two networks two interfaces and exactly one IPv4 default route, from the higher priority']);
    expect(neverRoutes.filter((a) => a.status === 'passed').length).toBeGreaterThan(8);
  });

  it('fails a driver that leaks a host link on leave in the leak checks, naming the leaked link, and passes it where nothing connects', () => {
    const byTitle = new Map(leaks.map((a) => [a.title, a]));
    for (const title of LEAK_TESTS) {
      expect({ title, status: byTitle.get(title)?.status }).toEqual({ title, status: 'failed' });
      expect(byTitle.get(title)?.failureMessages.join('\n')).toMatch(/"name": "fl[0-9a-f]{6}/);
    }
    for (const title of CLEAN_TESTS) expect({ title, status: byTitle.get(title)?.status }).toEqual({ title, status: 'passed' });
  });
});
