/**
 * CommonJS modules loaded with V8's code cache: what Node 22's `module.enableCompileCache()` does, for
 * Node 20, for the bundled plugin executables only. The bundle build writes `<file>.cache` next to each
 * lazily loaded part (what its top level compiles); a plugin exec then skips parsing and compiling it
 * (~1 MB of core, drivers and firewall). The first successful run of each command (`ADD`, `DEL`, …) also
 * leaves `<file>.<COMMAND>.cache`, which holds the functions that command compiled too, and later runs of
 * that command load it instead (ADD ~10 ms faster). A cache that does not fit (another Node, other V8
 * flags) is refused by V8 and the file is compiled from source as usual: slower, never wrong; a refused
 * command cache is written again. Where the bundle's directory is not writable, nothing is written.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script, constants } from 'node:vm';

interface Loaded {
  exports: unknown;
  /** False when the cache was missing or V8 refused it. */
  cached: boolean;
  script: Script;
}

function compileAndRun(file: string, cachedData: Buffer | undefined): Loaded {
  const source = readFileSync(file, 'utf8');
  const script = new Script(Module.wrap(source), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    // import() inside the file (a third-party plugin package) uses Node's own loader.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} as unknown, id: file, filename: file, loaded: false };
  const wrapper = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: unknown, filename: string, dirname: string) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  return { exports: module.exports, cached: cachedData !== undefined && !script.cachedDataRejected, script };
}

function readCache(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed into place (two plugins may write at once); any failure is ignored. */
function writeCache(path: string, data: Buffer): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data);
    renameSync(temp, path);
  } catch {
    // A read-only install, or a full disk: the next run compiles what the build-time cache lacks.
  }
}

/**
 * Loads the CommonJS file `file` (an absolute path) with its code cache; returns its exports. `command`
 * (e.g. process.env.CNI_COMMAND) selects that command's cache, and when it is missing or refused, one is
 * written as the process ends after a successful run (exit code 0).
 */
export function requireWithCodeCache(file: string, command?: string): unknown {
  const own = command !== undefined && /^[A-Z]{1,16}$/.test(command) ? `${file}.${command}.cache` : undefined;
  const ownData = own === undefined ? undefined : readCache(own);
  const loaded = compileAndRun(file, ownData ?? readCache(`${file}.cache`));
  if (own !== undefined && !(ownData !== undefined && loaded.cached)) {
    process.once('beforeExit', () => {
      if (!process.exitCode) writeCache(own, loaded.script.createCachedData());
    });
  }
  return loaded.exports;
}

/** Loads `file` (running its top level, so what that compiles is cached too) and writes `<file>.cache`. */
export function writeCodeCache(file: string): void {
  const { script } = compileAndRun(file, undefined);
  writeFileSync(`${file}.cache`, script.createCachedData());
}
