import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ListeningNetwork } from './responder.js';
import { flockHolderPids } from '@switchyard/core';

/** What a running responder writes to `<stateDir>/dns/responder.json` after each (re)bind. */
export interface ResponderFile {
  /** Its process id. */
  pid: number;
  /** The port it listens on. */
  port: number;
  /** The upstreams it forwards to, `ip:port`. */
  upstreams: string[];
  /** The networks it serves, with the addresses it listens on for each. */
  networks: ListeningNetwork[];
}

/** The responder's own directory in a state dir. */
export function dnsDir(stateDir: string): string {
  return join(resolve(stateDir), 'dns');
}

/** Paths of the responder's files: its state (responder.json), lock and log. */
export function responderPaths(stateDir: string): { file: string; lock: string; log: string } {
  const dir = dnsDir(stateDir);
  return { file: join(dir, 'responder.json'), lock: join(dir, 'responder.lock'), log: join(dir, 'responder.log') };
}

/** The responder file, or undefined when there is none (or it cannot be read). */
export function readResponderFile(stateDir: string): ResponderFile | undefined {
  try {
    const doc = JSON.parse(readFileSync(responderPaths(stateDir).file, 'utf8')) as ResponderFile;
    return Number.isInteger(doc.pid) && Array.isArray(doc.networks) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the responder file atomically (temp file, then rename). */
export function writeResponderFile(stateDir: string, doc: ResponderFile): void {
  const { file } = responderPaths(stateDir);
  const temp = join(dnsDir(stateDir), `.responder.json.${process.pid}.tmp`);
  writeFileSync(temp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  renameSync(temp, file);
}

/** Removes the responder file if it names this process (or `pid`), or whoever it names with `'any'`. */
export function removeResponderFile(stateDir: string, pid: number | 'any' = process.pid): void {
  if (pid !== 'any' && readResponderFile(stateDir)?.pid !== pid) return;
  try {
    unlinkSync(responderPaths(stateDir).file);
  } catch {
    // Gone already.
  }
}

/**
 * True when `pid` is the responder of this state dir: it holds the flock on `<stateDir>/dns/responder.lock`
 * (read from /proc/locks by core's flockHolderPids: the holder's pid and the file's device and inode). Whatever its
 * command line (`switchyard-dns`, `switchyard dns` with the state dir from the environment), and never a
 * process that only reuses a dead responder's pid.
 */
export function isResponderProcess(pid: number, stateDir: string): boolean {
  let lock: { dev: bigint; ino: bigint };
  try {
    lock = statSync(responderPaths(stateDir).lock, { bigint: true });
  } catch {
    return false;
  }
  // The pid and the lock file's device and inode together name the lock (a pid holds a flock on that file only if it took ours).
  return flockHolderPids(lock).includes(String(pid));
}
