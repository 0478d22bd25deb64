#!/usr/bin/env node
// Bundles the CNI plugin executables into dist-bundle/ (run after `tsc -b`: it bundles tsc's output,
// which keeps the decorator metadata tsyringe needs). docs/cni.md, "Start-up cost", has the measurements.
//
//   switchyard-cni.cjs   the entry the wrappers run: process I/O, the protocol layer, the plugin table.
//                        VERSION and protocol errors load nothing else.
//   executable.cjs       what ADD/DEL/CHECK/STATUS/GC of the Switchyard plugins load on first use: core,
//   host-local.cjs …     the drivers, the firewall (one file per dynamic import of the entry).
//   *.cjs.cache          V8's code cache for each of those, loaded through dist/code-cache.js (which adds
//                        *.cjs.<COMMAND>.cache after a command's first successful run).
//   inputs.json          the files the bundle was made from: the install uses the bundle only while it is
//                        newer than all of them.
//
// CommonJS, not ESM: on Node 20 only a CommonJS file can be compiled with a code cache (vm.Script), and
// a CommonJS main module skips the ESM loader. The lazy parts share the entry's modules (the protocol
// layer's CniError must be one class): their imports of those resolve to the entry's exports.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commonOptions, keepModuleUrls, realInputs as inputsOf } from '../../../scripts/bundle-common.mjs';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const dist = join(pkg, 'dist');
// Built beside dist-bundle/ (same depth, so the relative paths inside hold) and renamed into place at the
// end: a plugin exec'd meanwhile runs the old bundle or the new one, never half of one.
const finalDir = join(pkg, 'dist-bundle');
const outdir = join(pkg, `.dist-bundle-${process.pid}`);
const ENTRY = 'switchyard-cni.cjs';

const sharedKey = (file) => relative(dist, file);

const keepUrls = keepModuleUrls(outdir);
const common = commonOptions;

rmSync(outdir, { recursive: true, force: true });
process.on('exit', () => rmSync(outdir, { recursive: true, force: true }));

// 1. The entry. Each dynamic import of a file it does not load itself becomes a lazy part, loaded with
// its code cache. A dry pass finds the modules the entry loads (main.js and all it imports statically):
// those are shared with the lazy parts, and must stay within this package's dist (VERSION loads no more).
const lazy = new Map();
const lazyParts = (sharedFiles) => ({
  name: 'lazy-parts',
  setup(b) {
    b.onResolve({ filter: /^\./ }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      const file = resolve(args.resolveDir, args.path);
      if (sharedFiles.includes(file)) return undefined;
      const out = `${basename(file, '.js')}.cjs`;
      lazy.set(out, file);
      return { path: out, namespace: 'swy-lazy' };
    });
    b.onLoad({ filter: /.*/, namespace: 'swy-lazy' }, (args) => ({
      contents: `const { requireWithCodeCache } = require(${JSON.stringify(join(dist, 'code-cache.js'))});\nmodule.exports = requireWithCodeCache(require('node:path').join(__dirname, ${JSON.stringify(args.path)}), process.env.CNI_COMMAND);\n`,
      resolveDir: dist,
      loader: 'js',
    }));
  },
});
// Metafile paths are relative to the working directory; virtual modules have a namespace prefix.
const realInputs = (metafile) => inputsOf(metafile, (p) => p.includes('bundle-entry.js'));
const dry = await build({ ...common, entryPoints: [join(dist, 'main.js')], write: false, outfile: join(outdir, ENTRY), plugins: [keepUrls, lazyParts([])] });
const shared = realInputs(dry.metafile).filter((f) => f !== join(dist, 'code-cache.js'));
const outside = shared.filter((f) => !f.startsWith(`${dist}/`));
if (outside.length > 0) throw new Error(`bundle: the entry (dist/main.js and its static imports) would load more than @switchyard/cni's own modules: ${outside.map((f) => relative(pkg, f)).join(', ')}`);
lazy.clear();
const entry = await build({
  ...common,
  stdin: {
    contents: [
      ...shared.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`),
      `import { main } from ${JSON.stringify(join(dist, 'main.js'))};`,
      `export const __swyShared = { ${shared.map((f, i) => `${JSON.stringify(sharedKey(f))}: m${i}`).join(', ')} };`,
      'if (require.main === module) void main();',
    ].join('\n'),
    resolveDir: dist,
    sourcefile: 'bundle-entry.js',
    loader: 'js',
  },
  outfile: join(outdir, ENTRY),
  banner: { js: '#!/usr/bin/env node' },
  plugins: [keepUrls, lazyParts(shared)],
});
const entryInputs = realInputs(entry.metafile);

// 2. The lazy parts. An import of one of the entry's modules reads the entry's instance of it.
const parts = await build({
  ...common,
  entryPoints: Object.fromEntries([...lazy].map(([out, file]) => [basename(out, '.cjs'), file])),
  outdir,
  outExtension: { '.js': '.cjs' },
  plugins: [
    keepUrls,
    {
      name: 'shared-with-entry',
      setup(b) {
        b.onResolve({ filter: /^\./ }, (args) => {
          const file = resolve(args.resolveDir, args.path);
          return shared.includes(file) ? { path: sharedKey(file), namespace: 'swy-shared' } : undefined;
        });
        b.onLoad({ filter: /.*/, namespace: 'swy-shared' }, (args) => ({
          contents: `module.exports = require(__dirname + '/${ENTRY}').__swyShared[${JSON.stringify(args.path)}];\n`,
          loader: 'js',
        }));
      },
    },
  ],
});

// 3. The code caches, made by a Node without the build's NODE_OPTIONS (V8 refuses a cache made under other flags).
const env = { ...process.env };
delete env.NODE_OPTIONS;
for (const out of lazy.keys()) {
  const made = spawnSync(process.execPath, ['--input-type=module', '-e', `import { writeCodeCache } from ${JSON.stringify(join(dist, 'code-cache.js'))}; writeCodeCache(${JSON.stringify(join(outdir, out))});`], {
    env,
    stdio: 'inherit',
  });
  if (made.status !== 0) throw new Error(`bundle: could not write the code cache of ${out}`);
}

// 4. What the bundle was made from (the workspace's files; node_modules changes only through an install).
const inputs = new Set([...entryInputs, ...realInputs(parts.metafile)].filter((f) => !f.includes('/node_modules/')));
writeFileSync(join(outdir, 'inputs.json'), `${JSON.stringify([...inputs].map((f) => relative(outdir, f)).sort(), null, 1)}\n`);
rmSync(finalDir, { recursive: true, force: true });
renameSync(outdir, finalDir);
