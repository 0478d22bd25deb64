import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { SwitchyardError } from '@switchyard/core';
import { waitHealthy } from './wait-healthy.js';
import { resolveEtcdOptions } from './etcd-options.js';

/** Where and how to run a single-member etcd for a lab, a test or the demo. */
export interface EtcdServerOptions {
  /** The address etcd listens on for clients and its peer (an underlay address inside the lab). */
  address: string;
  /** Client port; default 2379 (the peer port is the next one). */
  port?: number;
  /** Data directory; put it on a tmpfs (`/dev/shm/...`) for speed: etcd fsyncs every commit. Emptied first unless `keepData`. */
  dataDir: string;
  /** Start on the data directory as it is (etcd coming back after a crash). */
  keepData?: boolean;
  /** Run etcd inside this named network namespace (`ip netns exec`); default the caller's. */
  netns?: string;
  /** The etcd binary; default `etcd` (Debian's `etcd-server`). */
  binary?: string;
}

/** A running etcd started by {@link startEtcdServer}. */
export interface EtcdServer {
  /** Its client URL. */
  readonly url: string;
  /** The process. */
  readonly process: ChildProcess;
  /** Kills it (SIGKILL when `hard`: the "etcd went away" case) and waits for it to exit; its data stays unless `wipe`. */
  stop(options?: { hard?: boolean; wipe?: boolean }): Promise<void>;
}

/**
 * Starts a one-member etcd cluster and returns once `/health` answers. Meant for labs, tests, the demo
 * and benchmarks, never for production (no TLS, one member).
 */
export async function startEtcdServer(options: EtcdServerOptions): Promise<EtcdServer> {
  const port = options.port ?? 2379;
  const host = options.address.includes(':') ? `[${options.address}]` : options.address;
  const url = `http://${host}:${port}`;
  const peer = `http://${host}:${port + 1}`;
  if (!options.keepData) rmSync(options.dataDir, { recursive: true, force: true });
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const args = [
    '--name',
    'lab',
    '--data-dir',
    options.dataDir,
    '--listen-client-urls',
    url,
    '--advertise-client-urls',
    url,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `lab=${peer}`,
    '--log-level',
    'error',
  ];
  const binary = options.binary ?? 'etcd';
  const [file, argv] = options.netns === undefined ? [binary, args] : ['nsenter', [`--net=/run/netns/${options.netns}`, binary, ...args]];
  const child = spawn(file, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  // A binary that cannot be started (ENOENT) reports 'error', not 'exit'.
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (e) => ((stderr += e.message), resolve()));
  });
  try {
    await Promise.race([
      waitHealthy(resolveEtcdOptions({ endpoints: url, connectTimeoutMs: 15_000 })),
      exited.then(() => {
        throw new SwitchyardError('SWY_ERR_GLOBAL_STORE_UNAVAILABLE', `etcd exited as it started: ${stderr.trim() || 'no message'}`, {
          hint: `Check that etcd is installed (apt-get install etcd-server) and that nothing else listens on ${url}.`,
          details: { url },
        });
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    url,
    process: child,
    async stop({ hard = false, wipe = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(hard ? 'SIGKILL' : 'SIGTERM');
        await exited;
      }
      if (wipe) rmSync(options.dataDir, { recursive: true, force: true });
    },
  };
}
