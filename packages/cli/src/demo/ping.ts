import { execFile } from 'node:child_process';
import type { SandboxRecord } from '@switchyard/core';
import { commandLine } from '../run/child-process.js';

export interface PingResult {
  sent: number;
  received: number;
  /** Round-trip time of each reply, ms. */
  times: number[];
}

/** Pings `address` from inside a sandbox. */
export type PingFn = (from: SandboxRecord, address: string, count: number) => Promise<PingResult>;

/** Reads iputils ping output: one `time=X ms` per reply and the `N packets transmitted, M received` line. */
export function parsePing(output: string): PingResult {
  const times = [...output.matchAll(/time[=<]([\d.]+) ?ms/g)].map((m) => Number(m[1]));
  const summary = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  return { sent: Number(summary?.[1] ?? 0), received: Number(summary?.[2] ?? times.length), times };
}

/** The real ping: `nsenter --net=<netns> -- ping -n -c N -i 0.2 -W 1 ADDRESS`; a failed ping is a result, not an error. */
export const pingFromSandbox: PingFn = (from, address, count) =>
  new Promise((resolve, reject) => {
    const [program, ...args] = commandLine(['ping', '-n', '-c', String(count), '-i', '0.2', '-W', '1', address], from);
    execFile(program as string, args, { timeout: 15_000 }, (error, stdout) => {
      if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT') return reject(error);
      resolve(parsePing(String(stdout)));
    });
  });

/** Asks the DNS server `server` for the A records of `name` from inside a sandbox: the addresses, or the resolver's error code. */
export type ResolveFn = (from: SandboxRecord, server: string, name: string) => Promise<string[] | string>;

/** The real lookup: this Node, in the sandbox's namespace (`nsenter --net`), asking `server` directly. */
export const resolveFromSandbox: ResolveFn = (from, server, name) =>
  new Promise((resolve, reject) => {
    const script = `const r = new (require('node:dns').promises.Resolver)({ timeout: 2000, tries: 2 }); r.setServers([process.argv[1]]); r.resolve4(process.argv[2]).then((a) => console.log(JSON.stringify(a)), (e) => console.log(JSON.stringify(e.code)));`;
    const [program, ...args] = commandLine([process.execPath, '-e', script, server, name], from);
    execFile(program as string, args, { timeout: 15_000 }, (error, stdout) => {
      if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOENT') return reject(error);
      try {
        resolve(JSON.parse(String(stdout)) as string[] | string);
      } catch {
        resolve(`no answer (${error instanceof Error ? error.message : String(stdout).trim()})`);
      }
    });
  });
