import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SwitchyardError, dnsServersOf, type DnsService, type DnsStatus, type NetworkRecord } from '@switchyard/core';
import { hostPort } from './addresses.js';
import { dnsDir, isResponderProcess, readResponderFile, responderPaths, type ResponderFile } from './responder-file.js';
import { hostNameservers, parseUpstream, formatUpstream } from './upstreams.js';

/** How {@link createDnsService} runs the responder. */
export interface DnsServiceOptions {
  /** The state directory (the responder's files go to `<stateDir>/dns/`). */
  stateDir: string;
  /** Upstream name servers given to a responder it starts; default the host's (/etc/resolv.conf). */
  upstreams?: readonly string[];
  /** The port a responder it starts listens on; default 53. */
  port?: number;
  /** How long `serve()` waits for the responder to listen; default 5000 ms. */
  readyTimeoutMs?: number;
  /** The command that starts a responder (arguments are appended); default this Node and the package's `bin/switchyard-dns.js`. */
  command?: readonly string[];
}

const POLL_MS = 2;
const HUP_EVERY_MS = 50;

/** The package's bin, beside dist/ (or src/ when run from sources). */
function defaultBin(): string {
  return fileURLToPath(new URL('../bin/switchyard-dns.js', import.meta.url));
}

/** Whether the responder file shows every network listening on all its gateway addresses. */
function covers(file: ResponderFile, networks: readonly NetworkRecord[]): boolean {
  return networks.every((n) => {
    const listed = file.networks.find((l) => l.id === n.id);
    return listed !== undefined && dnsServersOf(n).every((a) => listed.listening.includes(hostPort(a, file.port)));
  });
}

/** The log is appended to by every responder started; past this size it becomes `<log>.1` (replacing an older one) first. */
export const LOG_ROTATE_BYTES = 1024 * 1024;

function keepLogSmall(log: string): void {
  try {
    if (statSync(log).size > LOG_ROTATE_BYTES) renameSync(log, `${log}.1`);
  } catch {
    // No log yet (or it cannot be moved: it keeps growing, which loses nothing).
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The DnsService of a state dir: one responder process per state dir (`switchyard-dns`, detached),
 * found through `<stateDir>/dns/responder.json`, started when none runs, told to look again by SIGHUP.
 */
export function createDnsService(options: DnsServiceOptions): DnsService {
  const stateDir = resolve(options.stateDir);
  const paths = responderPaths(stateDir);
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  const command = options.command ?? [process.execPath, defaultBin()];
  const args = ['--state-dir', stateDir, ...(options.upstreams ?? []).flatMap((u) => ['--upstream', u]), ...(options.port !== undefined ? ['--port', String(options.port)] : [])];

  /** The responder file when a live responder of this state dir wrote it. */
  const live = (): ResponderFile | undefined => {
    const file = readResponderFile(stateDir);
    return file !== undefined && isResponderProcess(file.pid, stateDir) ? file : undefined;
  };

  let spawnError: string | undefined;
  const start = (): ChildProcess => {
    spawnError = undefined;
    mkdirSync(dnsDir(stateDir), { recursive: true, mode: 0o700 });
    keepLogSmall(paths.log);
    const log = openSync(paths.log, 'a', 0o600);
    try {
      const [file, ...prefix] = command;
      // Its own session (a terminal's hangup does not reach it), in / (it keeps no directory busy).
      const child = spawn(file ?? process.execPath, [...prefix, ...args], { detached: true, cwd: '/', stdio: ['ignore', log, log] });
      child.on('error', (e) => (spawnError = e.message));
      child.unref();
      return child;
    } finally {
      closeSync(log);
    }
  };

  const unavailable = (networks: readonly NetworkRecord[], why: string) =>
    new SwitchyardError('SWY_ERR_DNS_UNAVAILABLE', `The DNS responder of ${stateDir} did not come to listen for ${networks.map((n) => n.name).join(', ')} (${why})`, {
      hint: `See its log, ${paths.log}.`,
      details: { log: paths.log, networks: networks.map((n) => n.name) },
    });

  return {
    async serve(asked) {
      const networks = asked.filter((n) => dnsServersOf(n).length > 0);
      if (networks.length === 0) return;
      const deadline = Date.now() + readyTimeoutMs;
      let child: ChildProcess | undefined;
      let lastHup = 0;
      for (;;) {
        // The common case, after every connect: a live responder lists them all (responder.json and the lock's holder read).
        const file = live();
        if (file !== undefined && covers(file, networks)) return;
        if (file !== undefined) {
          if (Date.now() - lastHup >= HUP_EVERY_MS) {
            lastHup = Date.now();
            try {
              process.kill(file.pid, 'SIGHUP');
            } catch {
              // Exited meanwhile: the next round starts one.
            }
          }
        } else if (child !== undefined && child.exitCode !== null && child.exitCode !== 0) {
          // It failed on its own (a lost lock race exits 0): starting it again would fail the same way.
          throw unavailable(networks, `it exited with status ${child.exitCode}`);
        } else if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
          // None runs (or the one started lost the lock race, or was killed): start one.
          child = start();
        }
        if (Date.now() > deadline) {
          const errors = file?.networks.flatMap((n) => n.error ?? []) ?? [];
          const why = file !== undefined ? (errors.length > 0 ? errors.join('; ') : `pid ${file.pid} does not list them`) : spawnError !== undefined ? `cannot start it: ${spawnError}` : 'no responder runs';
          throw unavailable(networks, `${why}, after ${readyTimeoutMs} ms`);
        }
        await sleep(POLL_MS);
      }
    },

    async revive() {
      try {
        const file = readResponderFile(stateDir);
        // No file: none should run. A live one: nothing to do. A dead one's file: it was killed while serving.
        if (file === undefined || isResponderProcess(file.pid, stateDir)) return;
        const child = start();
        const deadline = Date.now() + readyTimeoutMs;
        while (live() === undefined && child.exitCode === null && child.signalCode === null && Date.now() < deadline) await sleep(POLL_MS);
      } catch {
        // Never throws: the next serve() reports what is wrong.
      }
    },

    async refresh() {
      try {
        const file = live();
        if (file !== undefined) process.kill(file.pid, 'SIGHUP');
      } catch {
        // Gone: nothing to refresh.
      }
    },

    async status(): Promise<DnsStatus> {
      const file = live();
      if (file === undefined) {
        let upstreams: string[];
        try {
          upstreams = (options.upstreams ?? hostNameservers()).map((u) => formatUpstream(parseUpstream(u)));
        } catch {
          upstreams = [...(options.upstreams ?? [])];
        }
        return { state: 'stopped', networks: [], upstreams };
      }
      return { state: 'running', pid: file.pid, networks: file.networks.map((n) => ({ name: n.name, listening: [...n.listening] })), upstreams: [...file.upstreams] };
    },
  };
}
