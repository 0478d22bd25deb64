import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FileLock, FileStore, isSwitchyardError } from '@switchyard/core';
import { Responder } from './responder.js';
import { dnsDir, removeResponderFile, responderPaths, writeResponderFile } from './responder-file.js';
import { parseUpstream } from './upstreams.js';

/** Where {@link runResponder} writes its log lines and which environment it reads. */
export interface RunResponderIo {
  /** Where log lines go; default process.stderr. */
  stderr?: NodeJS.WritableStream;
  /** The environment (`SWITCHYARD_STATE_DIR` when no --state-dir is given); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** How often a responder looks again on its own (state dir still there, networks still to serve). */
const SELF_CHECK_MS = 5000;

const USAGE = 'usage: switchyard-dns [--state-dir DIR] [--upstream ADDR]... [--port N]';

/**
 * Runs the responder of a state dir in this process until it has nothing left to serve or is told to
 * stop: `switchyard-dns --state-dir DIR [--upstream ADDR]... [--port N]`. Takes `<stateDir>/dns/responder.lock`
 * (another responder holds it: returns 0 at once), listens, writes responder.json after each (re)bind,
 * reloads on SIGHUP, stops on SIGTERM/SIGINT. Resolves to the exit status: 0, or 2 for bad arguments.
 */
export async function runResponder(argv: readonly string[], io: RunResponderIo = {}): Promise<number> {
  const stderr = io.stderr ?? process.stderr;
  const log = (line: string) => {
    stderr.write(`${new Date().toISOString()} switchyard-dns[${process.pid}]: ${line}\n`);
  };
  let stateDir: string;
  let upstreams: string[] | undefined;
  let port: number;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: { 'state-dir': { type: 'string' }, upstream: { type: 'string', multiple: true }, port: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    stateDir = resolve(values['state-dir'] ?? FileStore.defaultStateDir(io.env ?? process.env));
    upstreams = values.upstream;
    for (const u of upstreams ?? []) parseUpstream(u);
    port = values.port === undefined ? 53 : Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be 1–65535, not ${values.port}`);
  } catch (e) {
    stderr.write(`switchyard-dns: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }

  mkdirSync(dnsDir(stateDir), { recursive: true, mode: 0o700 });
  let lock: FileLock;
  try {
    lock = await FileLock.acquire(responderPaths(stateDir).lock, { timeoutMs: 0 });
  } catch (e) {
    if (isSwitchyardError(e, 'SWY_ERR_STORE_LOCK_TIMEOUT')) return 0; // Another responder serves this state dir.
    throw e;
  }
  // Only the lock's holder writes responder.json: one there now was left by a responder that was killed.
  removeResponderFile(stateDir, 'any');

  const responder = new Responder({ stateDir, port, ...(upstreams !== undefined ? { upstreams } : {}), log });
  let published = '';
  const publish = () => {
    const doc = { pid: process.pid, port, upstreams: responder.upstreams(), networks: responder.networks() };
    // The self-check reloads every few seconds: write only what changed.
    if (JSON.stringify(doc) === published) return;
    writeResponderFile(stateDir, doc);
    published = JSON.stringify(doc);
  };
  let stopping = false;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (finish = r));

  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    try {
      await responder.close();
    } finally {
      removeResponderFile(stateDir);
      lock.release();
      // Only now: a SIGHUP without a handler would end the process before it cleaned up.
      process.off('SIGHUP', onHup);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onTerm);
      clearInterval(watchdog);
      finish(0);
    }
  };
  const reload = async () => {
    const networks = await responder.reload();
    if (stopping) return;
    if (networks.length === 0) return stop('no network with DNS has an endpoint');
    publish();
  };
  const onHup = () => {
    if (stopping) return;
    log('reloading (SIGHUP)');
    reload().catch((e: unknown) => log(`reload failed: ${(e as Error).message}`));
  };
  const onTerm = (signal: NodeJS.Signals) => void stop(signal);
  // Every few seconds, without a signal: a state dir removed under it (or a network gone while no one
  // signalled, a process killed between its change and its SIGHUP) must not keep a responder for ever.
  const watchdog = setInterval(() => {
    if (stopping) return;
    if (!existsSync(stateDir)) void stop(`the state dir ${stateDir} is gone`);
    else reload().catch((e: unknown) => log(`reload failed: ${(e as Error).message}`));
  }, SELF_CHECK_MS);
  watchdog.unref();
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onTerm);

  log(`starting for ${stateDir} on port ${port}`);
  try {
    await reload();
  } catch (e) {
    log(`start failed: ${(e as Error).message}`);
    await stop('start failed');
    return 1;
  }
  return done;
}
