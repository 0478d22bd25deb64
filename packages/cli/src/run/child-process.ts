import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { SwitchyardError, type SandboxRecord } from '@switchyard/core';
import { netnsText } from '../output/views.js';

export interface CommandOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all. */
  notFound?: string;
}

/** A started command: wait for it, or pass it a signal. */
export interface RunningCommand {
  wait(): Promise<CommandOutcome>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `argv` inside the sandbox's network namespace. */
export type CommandStarter = (argv: readonly string[], sandbox: SandboxRecord) => RunningCommand;

/** Where SIGINT/SIGTERM arrive; the process by default. */
export interface SignalSource {
  on(signal: NodeJS.Signals, handler: () => void): void;
  off(signal: NodeJS.Signals, handler: () => void): void;
}

export const processSignals: SignalSource = {
  on: (s, h) => void process.on(s, h),
  off: (s, h) => void process.off(s, h),
};

/** `nsenter --net=<netns> -- cmd…` (no shell); host-mode sandboxes run the command as is. */
export function commandLine(argv: readonly string[], sandbox: SandboxRecord): string[] {
  if (sandbox.netns.kind === 'host') return [...argv];
  return ['nsenter', `--net=${netnsText(sandbox.netns)}`, '--', ...argv];
}

/** `run`'s command line: as commandLine, with the command killed when Switchyard dies (setpriv --pdeathsig), so a killed `run` leaves no process behind. */
export function runCommandLine(argv: readonly string[], sandbox: SandboxRecord): string[] {
  const guarded = ['setpriv', '--pdeathsig', 'KILL', '--', ...argv];
  return sandbox.netns.kind === 'host' ? guarded : ['nsenter', `--net=${netnsText(sandbox.netns)}`, '--', ...guarded];
}

/** The real starter: spawns with inherited stdio, so the command talks to the user's terminal directly. */
export const startInSandbox: CommandStarter = (argv, sandbox) => {
  const [program, ...args] = runCommandLine(argv, sandbox);
  const child = spawn(program as string, args, { stdio: 'inherit' });
  const done = new Promise<CommandOutcome>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      // As shells do: found but not executable is 126.
      if (e.code === 'EACCES' || e.code === 'ENOEXEC') return resolve({ code: 126, signal: null });
      if (e.code !== 'ENOENT') return reject(e);
      if (program === 'nsenter' || program === 'setpriv') {
        return reject(new SwitchyardError('SWY_ERR_TOOL_MISSING', `${program} is not installed, so the command cannot be started in the sandbox`, { hint: 'Install it: apt-get install util-linux.' }));
      }
      resolve({ code: 127, signal: null, notFound: program as string });
    });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { wait: () => done, kill: (s) => void child.kill(s) };
};

/** The status `run` exits with: the command's own, or 128 + signal number as shells do. */
export function exitStatusOf(o: CommandOutcome): number {
  if (o.code !== null) return o.code;
  const n = o.signal ? constants.signals[o.signal] : undefined;
  return n === undefined ? 1 : 128 + n;
}
