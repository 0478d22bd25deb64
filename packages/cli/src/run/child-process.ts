import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { SwitchyardError, type SandboxRecord } from '@switchyard/core';
import { RUN_EXIT } from '../output/failure.js';
import { netnsText } from '../output/views.js';

export interface CommandOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be found (exit status 127). */
  notFound?: string;
  /** Set when the program was found but is not an executable file (exit status 126). */
  notExecutable?: string;
}

/** A started command: wait for it, or pass it a signal. */
export interface RunningCommand {
  wait(): Promise<CommandOutcome>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `argv` inside the sandbox: its network namespace, and its hosts, resolv.conf and hostname. */
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

/** What the command sees of its sandbox besides the network namespace: files bind-mounted over /etc and a hostname. */
export interface SandboxView {
  hosts: string;
  resolvConf: string;
  hostname: string;
}

/** The sandbox's own hosts, resolv.conf and hostname; none for a host-mode sandbox (it keeps the host's) or a record without files. */
export function sandboxView(sandbox: SandboxRecord): SandboxView | undefined {
  if (sandbox.netns.kind === 'host' || sandbox.mode === 'host' || !sandbox.filesDir) return undefined;
  return { hosts: join(sandbox.filesDir, 'hosts'), resolvConf: join(sandbox.filesDir, 'resolv.conf'), hostname: sandbox.hostname };
}

/** `$0` of the wrapper's shell: what sh prints before its own messages. */
export const WRAPPER_NAME = 'switchyard';

/**
 * The wrapper's report channel: fd 3, one word a line (`exec`, `notfound`, `noexec`),
 * or `setup TEXT` up to the end when the setup failed. Closed for the command itself.
 */
const REPORT_FD = 3;

// Every value arrives as a positional parameter ($1…): the script text is constant, so nothing the
// user typed (a hostname, a path, the command) is ever read as shell code.
const VIEW_SCRIPT = [
  'hosts=$1 resolv=$2 name=$3',
  'shift 3',
  'fail() { printf "setup %s\\n" "$1" >&3; exit 125; }',
  // mount(8) binds onto a symlink's target, which is what a symlinked /etc/resolv.conf needs; one
  // that leads nowhere cannot be mounted over, so the command keeps it (and is told so).
  'bind() {',
  `  if [ -L "$2" ] && [ ! -e "$2" ]; then printf "warning: %s is a symbolic link to nowhere, so the sandbox's %s cannot be mounted over it: the command sees the host's\\n" "$2" "$3" >&2; return 0; fi`,
  '  out=$(mount --bind -- "$1" "$2" 2>&1) || fail "mount --bind $1 $2 failed: $out"',
  '}',
  'bind "$hosts" /etc/hosts hosts',
  'bind "$resolv" /etc/resolv.conf resolv.conf',
  'if command -v hostname >/dev/null 2>&1; then out=$(hostname -- "$name" 2>&1) || fail "setting the hostname to $name failed: $out"',
  'else printf %s "$name" 2>/dev/null >/proc/sys/kernel/hostname || fail "setting the hostname to $name failed"; fi',
].join('\n');

// The shell's own exec would say "not found" too, but only after it is gone: look first, and tell Switchyard.
const EXEC_SCRIPT = [
  'case $1 in',
  '  */*) if [ ! -e "$1" ]; then echo notfound >&3; exit 127; fi',
  '       if [ -d "$1" ] || [ ! -x "$1" ]; then echo noexec >&3; exit 126; fi ;;',
  '  *) if ! command -v -- "$1" >/dev/null 2>&1; then echo notfound >&3; exit 127; fi ;;',
  'esac',
  'echo exec >&3',
  'exec "$@" 3>&-',
].join('\n');

/**
 * `run`'s command line, with no shell string built from user input:
 *
 *     setpriv --pdeathsig KILL -- nsenter --net=NETNS -- unshare --mount --uts --propagation private --
 *       sh -c SCRIPT switchyard HOSTS RESOLV HOSTNAME CMD ARGS…
 *
 * setpriv first, so that from the start the whole chain (one process, exec after exec) dies with
 * Switchyard and a killed `run` leaves no process behind. The mount and UTS namespaces are new and
 * private: the bind mounts over /etc/hosts and /etc/resolv.conf and the hostname exist only there,
 * never in the host's mount table. A host-mode sandbox (or a record without files) runs with the host's.
 */
export function runCommandLine(argv: readonly string[], sandbox: SandboxRecord): string[] {
  const guard = ['setpriv', '--pdeathsig', 'KILL', '--'];
  if (sandbox.netns.kind === 'host') return [...guard, 'sh', '-c', EXEC_SCRIPT, WRAPPER_NAME, ...argv];
  const nsenter = ['nsenter', `--net=${netnsText(sandbox.netns)}`, '--'];
  const view = sandboxView(sandbox);
  if (!view) return [...guard, ...nsenter, 'sh', '-c', EXEC_SCRIPT, WRAPPER_NAME, ...argv];
  return [...guard, ...nsenter, ...['unshare', '--mount', '--uts', '--propagation', 'private', '--'], ...['sh', '-c', `${VIEW_SCRIPT}\n${EXEC_SCRIPT}`, WRAPPER_NAME, view.hosts, view.resolvConf, view.hostname], ...argv];
}

/** What the wrapper said on its report channel, read after it ended. */
export function readReport(text: string): { setup?: string; exec: boolean; notFound: boolean; notExecutable: boolean } {
  const failed = /(?:^|\n)setup /.exec(text);
  // mount(8)'s "dmesg(1) may have more information" line says nothing here.
  const setup = failed
    ? text
        .slice(failed.index + failed[0].length)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('dmesg(1)'))
        .join(' ')
    : undefined;
  const lines = (failed ? text.slice(0, failed.index) : text).split('\n');
  return {
    ...(setup === undefined ? {} : { setup }),
    exec: lines.includes('exec'),
    notFound: lines.includes('notfound'),
    notExecutable: lines.includes('noexec'),
  };
}

/** Turns the wrapper's exit and report into the command's outcome, or the error that kept it from starting. */
export function outcomeOf(argv: readonly string[], sandbox: SandboxRecord, code: number | null, signal: NodeJS.Signals | null, report: string): CommandOutcome {
  const r = readReport(report);
  const program = argv[0] ?? '';
  if (r.setup !== undefined) {
    throw new SwitchyardError('SWY_ERR_RUN_SETUP_FAILED', `The command could not be set up in sandbox ${sandbox.name}: ${r.setup}`, {
      hint: `Check the sandbox's files (\`switchyard sandbox inspect ${sandbox.name}\`) and that mount and hostname (util-linux) work here.`,
      details: { sandbox: sandbox.name },
    });
  }
  if (r.notFound) return { code: RUN_EXIT.notFound, signal: null, notFound: program };
  if (r.notExecutable) return { code: RUN_EXIT.cannotExecute, signal: null, notExecutable: program };
  if (!r.exec && signal === null) {
    // The chain before the script (setpriv, nsenter, unshare, sh) failed: its tool printed why.
    const missing = code === RUN_EXIT.notFound;
    throw new SwitchyardError(
      missing ? 'SWY_ERR_TOOL_MISSING' : 'SWY_ERR_RUN_SETUP_FAILED',
      `The command could not be started in sandbox ${sandbox.name}: its wrapper (setpriv, nsenter, unshare, sh) exited with status ${code ?? 'unknown'} before the command ran`,
      {
        hint: missing ? 'Install util-linux (setpriv, nsenter, unshare, mount) and a POSIX sh.' : `See the tool's message above; \`switchyard sandbox inspect ${sandbox.name}\` shows whether its namespace still exists.`,
        details: { sandbox: sandbox.name, status: code },
      },
    );
  }
  return { code, signal };
}

/** The real starter: spawns with inherited stdio, so the command talks to the user's terminal directly; fd 3 carries the wrapper's report. */
export const startInSandbox: CommandStarter = (argv, sandbox) => {
  const [program, ...args] = runCommandLine(argv, sandbox);
  const child = spawn(program as string, args, { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
  let report = '';
  const channel = child.stdio[REPORT_FD] as Readable | null;
  channel?.setEncoding('utf8');
  channel?.on('data', (d: string) => void (report += d));
  channel?.on('error', () => {});
  const done = new Promise<CommandOutcome>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') return reject(e);
      reject(new SwitchyardError('SWY_ERR_TOOL_MISSING', `${program} is not installed, so the command cannot be started in the sandbox`, { hint: 'Install it: apt-get install util-linux.' }));
    });
    // `close`, not `exit`: the report is read to its end (the command itself never holds fd 3).
    child.once('close', (code, signal) => {
      try {
        resolve(outcomeOf(argv, sandbox, code, signal, report));
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
  });
  return { wait: () => done, kill: (s) => void child.kill(s) };
};

/** The status `run` exits with: the command's own, or 128 + signal number as shells do. */
export function exitStatusOf(o: CommandOutcome): number {
  if (o.code !== null) return o.code;
  const n = o.signal ? constants.signals[o.signal] : undefined;
  return n === undefined ? 1 : 128 + n;
}
