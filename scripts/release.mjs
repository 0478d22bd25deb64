#!/usr/bin/env node
// Builds and publishes every @switchyard/* package, dependencies first, with `pnpm publish` (which
// rewrites `workspace:` ranges to real versions in the published manifest; `npm publish` would not).
//
//   pnpm release [--registry URL] [--dry-run] [--examples] [--no-build]
//
// --registry   publish there instead of the configured registry (a private one, e.g. verdaccio)
// --dry-run    pack and report what would be published, publish nothing
// --examples   also publish the example third-party driver(s) under examples/
// --no-build   skip `pnpm run build` (the caller has just built)
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function parseArgs(argv) {
  const args = { registry: undefined, dryRun: false, examples: false, build: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--registry') args.registry = argv[++i];
    else if (a.startsWith('--registry=')) args.registry = a.slice('--registry='.length);
    else if (a === '--dry-run') args.dryRun = true;
    else if (a === '--examples') args.examples = true;
    else if (a === '--no-build') args.build = false;
    else throw new Error(`release: unknown argument ${a} (known: --registry URL, --dry-run, --examples, --no-build)`);
  }
  if (args.registry !== undefined && !/^https?:\/\//.test(args.registry)) throw new Error(`release: --registry needs an http(s) URL, not ${JSON.stringify(args.registry)}`);
  return args;
}

/** Publishable workspace packages: not private, with a name. */
function workspacePackages(withExamples) {
  const dirs = ['packages', ...(withExamples ? ['examples'] : [])].flatMap((parent) =>
    readdirSync(join(root, parent))
      .map((d) => join(root, parent, d))
      .filter((d) => existsSync(join(d, 'package.json'))),
  );
  return dirs.map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) })).filter((p) => p.manifest.private !== true && typeof p.manifest.name === 'string');
}

/** Dependencies (and peers) before dependents, so every published range resolves at once. */
export function publishOrder(packages) {
  const byName = new Map(packages.map((p) => [p.manifest.name, p]));
  const order = [];
  const state = new Map();
  const visit = (p, path) => {
    if (state.get(p.manifest.name) === 'done') return;
    if (state.get(p.manifest.name) === 'visiting') throw new Error(`release: dependency cycle ${[...path, p.manifest.name].join(' -> ')}`);
    state.set(p.manifest.name, 'visiting');
    const deps = { ...p.manifest.dependencies, ...p.manifest.peerDependencies };
    for (const name of Object.keys(deps).sort()) {
      const dep = byName.get(name);
      if (dep !== undefined) visit(dep, [...path, p.manifest.name]);
    }
    state.set(p.manifest.name, 'done');
    order.push(p);
  };
  for (const p of [...packages].sort((a, b) => a.manifest.name.localeCompare(b.manifest.name))) visit(p, []);
  return order;
}

function run(cmd, args, cwd) {
  console.log(`$ ${cmd} ${args.join(' ')}${cwd === root ? '' : `   (in ${cwd.slice(root.length + 1)})`}`);
  execFileSync(cmd, args, { cwd, stdio: 'inherit' });
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.build) run('pnpm', ['run', 'build'], root);
  const order = publishOrder(workspacePackages(args.examples));
  for (const { dir } of order) {
    // --no-git-checks: a release from a tag or a CI checkout is not on a branch pnpm would accept.
    const publishArgs = ['publish', '--no-git-checks', ...(args.registry ? ['--registry', args.registry] : []), ...(args.dryRun ? ['--dry-run'] : [])];
    run('pnpm', publishArgs, dir);
  }
  console.log(`${args.dryRun ? 'would publish' : 'published'}: ${order.map((p) => `${p.manifest.name}@${p.manifest.version}`).join(', ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
