// Which file runs a `switchyard` command: the bundle (dist-bundle/switchyard.cjs, made by `pnpm build`:
// one CommonJS file, ~3x less start-up than ~200 ES modules) or the built ES modules (dist/main.js).
// CommonJS and Node built-ins only, so choosing costs nothing measurable.
'use strict';

const { readdirSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

// Options of `switchyard` itself that take a value (context.ts GLOBAL_OPTIONS).
const VALUE_OPTIONS = new Set(['--state-dir', '--net-dir', '--etcd', '--etcd-cacert', '--etcd-cert', '--etcd-key', '--host-name']);

/** The state dir this command line names (`--state-dir`, else SWITCHYARD_STATE_DIR, else the default), and its first word. */
function readCommandLine(argv, env) {
  let stateDir;
  let command;
  let etcd = Boolean(env.SWITCHYARD_ETCD);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '--etcd' || a.startsWith('--etcd=')) etcd = true;
    if (a.startsWith('--state-dir=')) stateDir = a.slice('--state-dir='.length);
    else if (VALUE_OPTIONS.has(a)) {
      if (a === '--state-dir') stateDir = argv[i + 1];
      i++;
    } else if (command === undefined && !a.startsWith('-')) command = a;
  }
  return { stateDir: stateDir || env.SWITCHYARD_STATE_DIR || '/var/lib/switchyard', command, etcd };
}

/**
 * Whether a package other than core's link is in the plugin directory's node_modules, where the CLI
 * loads plugins from (by name, on first use of a type it does not have built in).
 */
function hasPlugins(stateDir) {
  const modules = join(stateDir, 'plugins', 'node_modules');
  try {
    return readdirSync(modules).some((name) => !name.startsWith('.') && (name !== '@switchyard' || readdirSync(join(modules, name)).some((n) => n !== 'core')));
  } catch {
    return false;
  }
}

/** Whether the build-info file of every package the bundle was made from (its stamps.json) is older than the bundle. */
function fresh(bundleDir, bundle) {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(bundleDir, 'stamps.json'), 'utf8'));
    return inputs.every((f) => statSync(join(bundleDir, f)).mtimeMs <= built);
  } catch {
    return false;
  }
}

/**
 * The bundle's path and the command word when the bundle may run this command, else undefined (run dist/main.js). Not when
 * SWITCHYARD_CLI_BUNDLE=0; not when it is missing or older than a build of any package it holds (a `tsc -b` since);
 * not for `plugin` commands, nor while plugins are installed in the state dir: a plugin imports
 * @switchyard/core from node_modules, and a process must hold one copy of core, not the bundle's and that.
 * Nor with a global store (`--etcd`, SWITCHYARD_ETCD), for `agent`, or for `demo` (its second act runs
 * agents and etcd): the etcd client loads its gRPC definitions from files beside its own code, and a
 * script run from a code cache cannot import() it.
 */
function bundledEntry(argv, env, bundleDir) {
  if (env.SWITCHYARD_CLI_BUNDLE === '0') return undefined;
  const { stateDir, command, etcd } = readCommandLine(argv, env);
  if (command === 'plugin' || command === 'agent' || command === 'demo' || etcd || hasPlugins(stateDir)) return undefined;
  const bundle = join(bundleDir, 'switchyard.cjs');
  return fresh(bundleDir, bundle) ? { bundle, command } : undefined;
}

/**
 * The CLI's exports (runCli): the bundle's, loaded with its code cache (the one for this command word
 * when an earlier run left it), when bundledEntry allows; else undefined.
 */
function loadBundle(argv, env, bundleDir) {
  const chosen = bundledEntry(argv, env, bundleDir);
  if (chosen === undefined) return undefined;
  const { requireWithCodeCache } = require(join(bundleDir, 'code-cache.cjs'));
  const word = (chosen.command ?? '').toUpperCase().replace(/[^A-Z]/g, '');
  return requireWithCodeCache(chosen.bundle, word === '' ? undefined : word);
}

module.exports = { bundledEntry, loadBundle };
