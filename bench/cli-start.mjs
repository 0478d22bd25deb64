// The CLI's start-up beside Node's own (issue 12, item 4): `node -e 0`, `switchyard --version` and a CLI
// `connect` + `disconnect` pair on a bridge network (one process per operation), alternating operation by
// operation so that whatever the machine does meanwhile lands on all of them alike. Runs inside the lab
// namespace (bench/run.mjs runs there; alone: scripts/lab.sh node -e "import('./bench/cli-start.mjs')…").
// Ratios are to `node -e 0`: the targets are --version ≤ 1.1x and connect ≤ 1.3x.
import { benchDir } from './dirs.mjs';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { summary } from './stats.mjs';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'packages/cli/bin/switchyard.js');

export default async function bench({ log, runs = 3, count = 200, cliCount = Math.min(count, 40) }) {
  if (process.env.SWITCHYARD_LAB !== '1') throw new Error('bench/cli-start.mjs changes the kernel: run it inside scripts/lab.sh');
  const dir = benchDir('swy-clistart-');
  const stateDir = join(dir, 'state');
  const netDir = join(dir, 'net.d');
  mkdirSync(netDir);
  // The environment a user's shell gives the CLI, without the test runner's NODE_OPTIONS (jest's flags).
  const env = { ...process.env, SWITCHYARD_STATE_DIR: stateDir, SWITCHYARD_NET_DIR: netDir };
  delete env.NODE_OPTIONS;
  const exec = (args, check = true) => {
    const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (check && r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r;
  };
  const cli = (...args) => exec([bin, ...args]);
  const timed = (fn) => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };

  cli('network', 'create', 'clistart', '--subnet', '10.92.0.0/16', '-o', 'bridge=swyclis0');
  const sandboxes = Array.from({ length: cliCount }, (_, i) => `cs${i}`);
  for (const sb of sandboxes) cli('sandbox', 'create', sb);
  const version = cli('--version').stdout.trim();
  if (!/^\d+\.\d+\.\d+/.test(version)) throw new Error(`switchyard --version printed ${JSON.stringify(version)}`);

  log(`cli start-up: ${runs} x ${cliCount} rounds of node -e 0, switchyard --version, switchyard connect, switchyard disconnect, alternating…`);
  // Untimed: the page cache, and the first-use work of the state dir (host-local's directory, the firewall table).
  exec(['-e', '0']);
  cli('--version');
  cli('connect', 'clistart', sandboxes[0]);
  cli('disconnect', 'clistart', sandboxes[0]);
  const t = { node: [], version: [], connect: [], disconnect: [] };
  const perRun = [];
  for (let r = 0; r < runs; r++) {
    const start = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v.length]));
    for (const sb of sandboxes) {
      t.node.push(timed(() => exec(['-e', '0'])));
      t.version.push(timed(() => cli('--version')));
      t.connect.push(timed(() => cli('connect', 'clistart', sb)));
      t.disconnect.push(timed(() => cli('disconnect', 'clistart', sb)));
    }
    perRun.push(Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summary(v.slice(start[k])).median])));
  }
  for (const sb of sandboxes) cli('sandbox', 'rm', sb);
  cli('network', 'rm', 'clistart');
  rmSync(dir, { recursive: true, force: true });

  const s = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, summary(v)]));
  const ms = (v) => `${v.toFixed(1)} ms`;
  const ratio = (v) => `${(v / s.node.median).toFixed(2)}x`;
  for (const [i, m] of perRun.entries()) {
    log(`  run ${i + 1}: node -e 0 ${ms(m.node)}, --version ${ms(m.version)}, connect ${ms(m.connect)}, disconnect ${ms(m.disconnect)}`);
  }
  log(
    `cli start-up medians (n=${s.node.n}): node -e 0 ${ms(s.node.median)}; --version ${ms(s.version.median)} (${ratio(s.version.median)}); connect ${ms(s.connect.median)} (${ratio(s.connect.median)}); disconnect ${ms(s.disconnect.median)} (${ratio(s.disconnect.median)})`,
  );
  const row = (name, key) => ({ name: `${name} (peer: node -e 0)`, ours: s[key].median, peer: s.node.median, unit: 'ms', lowerIsBetter: true, detail: { ours: s[key], peer: s.node, perRun: perRun.map((m) => m[key]) } });
  return [row('switchyard --version median', 'version'), row('switchyard connect median', 'connect'), row('switchyard disconnect median', 'disconnect')];
}
