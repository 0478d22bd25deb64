#!/usr/bin/env node
// Bundles the `switchyard` command into dist-bundle/ (run after `tsc -b`, by `pnpm build`):
//
//   switchyard.cjs   dist/main.js (runCli) with everything it imports — the CLI, core, the drivers,
//                    host-local, the firewall, commander — in one CommonJS file. The commands' lazy
//                    imports stay lazy: esbuild keeps each imported module's top level in a function run
//                    on first use. A third-party plugin's import() is left to Node's own loader.
//   switchyard.cjs.cache
//                    V8's code cache for it (what its top level compiles), written here by a Node without
//                    the build's NODE_OPTIONS; the first successful run of each command word also leaves
//                    switchyard.cjs.<COMMAND>.cache (what that command compiled), when the directory is writable.
//   code-cache.cjs   the loader that uses them: @switchyard/cni's code-cache module, as CommonJS for the bin.
//   stamps.json      the tsc build-info file of each workspace package it was made from (tsc -b rewrites
//                    it whenever it emits that package): bin/switchyard.js runs the bundle only while it
//                    is newer than all of them, so a `tsc -b` after the bundle never runs stale code.
//                    Ten stats instead of one per bundled file (~180: 5 ms a run).
//
// One file instead of ~200 ES modules through Node's ES module loader: `switchyard connect` spends
// ~110 ms of CPU loading core as ES modules on Node 20, ~35 ms as this bundle (docs/performance.md).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commonOptions, keepModuleUrls, realInputs } from '../../../scripts/bundle-common.mjs';

const pkg = fileURLToPath(new URL('..', import.meta.url));
// Built beside dist-bundle/ (same depth, so the relative paths inside hold) and renamed into place at the
// end: a command started meanwhile runs the old bundle or the new one, never half of one.
const finalDir = join(pkg, 'dist-bundle');
const outdir = join(pkg, `.dist-bundle-${process.pid}`);

rmSync(outdir, { recursive: true, force: true });
process.on('exit', () => rmSync(outdir, { recursive: true, force: true }));

const result = await build({
  ...commonOptions,
  entryPoints: [join(pkg, 'dist', 'main.js')],
  outfile: join(outdir, 'switchyard.cjs'),
  // Multi-host commands (--etcd, agent) never run from the bundle (bin/entry.js): the etcd client reads its
  // gRPC definitions from files beside its own code.
  external: [...commonOptions.external, '@switchyard/store-etcd', '@switchyard/agent'],
  plugins: [keepModuleUrls(outdir)],
});

const loader = await build({
  ...commonOptions,
  entryPoints: [join(pkg, '..', 'cni', 'dist', 'code-cache.js')],
  outfile: join(outdir, 'code-cache.cjs'),
});

// V8 refuses a cache made under other flags: made by a Node without the build's NODE_OPTIONS.
const env = { ...process.env };
delete env.NODE_OPTIONS;
const made = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(outdir, 'code-cache.cjs'))}).writeCodeCache(${JSON.stringify(join(outdir, 'switchyard.cjs'))})`], { env, stdio: 'inherit' });
if (made.status !== 0) throw new Error('bundle: could not write the code cache of switchyard.cjs');

const packagesDir = join(pkg, '..');
const packages = new Set([...realInputs(result.metafile), ...realInputs(loader.metafile)].filter((f) => !f.includes('/node_modules/')).map((f) => relative(packagesDir, f).split(sep)[0]));
const stamps = [...packages].sort().map((name) => join(packagesDir, name, 'tsconfig.tsbuildinfo'));
for (const stamp of stamps) statSync(stamp); // every bundled package is a tsc -b project
writeFileSync(
  join(outdir, 'stamps.json'),
  `${JSON.stringify(
    stamps.map((f) => relative(outdir, f)),
    null,
    1,
  )}\n`,
);
rmSync(finalDir, { recursive: true, force: true });
renameSync(outdir, finalDir);
