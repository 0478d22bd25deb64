// What the esbuild bundles of the workspace share (packages/cni/scripts/bundle.mjs for the CNI plugin
// executables, packages/cli/scripts/bundle.mjs for the `switchyard` command): they bundle tsc's output,
// which keeps the decorator metadata tsyringe needs, into CommonJS (on Node 20 a CommonJS main module
// skips the ES module loader, and only CommonJS can take V8's code cache).
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

/** esbuild options every bundle uses. */
export const commonOptions = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // koffi is a native module: loaded from node_modules at run time (through createRequire).
  external: ['koffi'],
  metafile: true,
  legalComments: 'none',
  // A third less to read and hash at each exec; names stay, so stack traces still name functions.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // `module`, `require` and `__dirname` in virtual modules are CommonJS's, as intended.
  logOverride: { 'commonjs-variable-in-esm': 'silent' },
};

/**
 * An esbuild plugin: `import.meta.url` keeps naming the module's original file (relative to the bundle
 * written into `outdir`, so the tree can move): createRequire(import.meta.url)('koffi') resolves from the
 * package that depends on koffi, and new URL('../package.json', import.meta.url) reads that package's own file.
 */
export function keepModuleUrls(outdir) {
  return {
    name: 'keep-module-urls',
    setup(b) {
      b.onLoad({ filter: /\/packages\/[^/]+\/dist\/.*\.js$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta.url')) return undefined;
        const rel = relative(outdir, args.path);
        return { contents: source.replaceAll('import.meta.url', `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(rel)})).href`), loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** The real files a build read (metafile paths are relative to the working directory; virtual modules have a namespace prefix). */
export function realInputs(metafile, skip = () => false) {
  return Object.keys(metafile.inputs)
    .filter((p) => !/^[\w-]+:/.test(p) && !skip(p))
    .map((p) => resolve(process.cwd(), p));
}
