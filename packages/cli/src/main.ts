import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliContext, GLOBAL_OPTIONS, type CliDeps, type CliIo } from './context.js';
import { exitCodeOf, failureJson, formatFailure, oneLine, RUN_EXIT, toFailure, usageFailure, type Failure } from './output/failure.js';

export type { CliDeps, CliIo, TextSink } from './context.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Exits that are not failures: --help, --version. */
const CLEAN_EXITS = new Set(['commander.helpDisplayed', 'commander.version']);

/**
 * Runs the `switchyard` command line and resolves to its exit status; never calls process.exit.
 * Tests pass buffers as io and fakes in deps; the bin passes the process's streams.
 */
export async function runCli(argv: readonly string[], io: CliIo, deps: CliDeps = {}): Promise<number> {
  const ctx = new CliContext(io, deps, wantsJson(argv));
  // `--version` alone (with or without --json) prints what commander would, without loading it (a third of the start-up).
  if (isVersionOnly(argv)) {
    io.stdout.write(`${ctx.json ? JSON.stringify({ version: VERSION }) : VERSION}\n`);
    return 0;
  }
  // Everything else parses with commander: the command table, then each action imports its own modules.
  const { buildProgram, CommanderError } = await import('./program.js');
  const program = buildProgram(ctx, VERSION);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    const status = (code: number) => (isRun(argv) ? RUN_EXIT.failed : code);
    if (e instanceof CommanderError) {
      if (CLEAN_EXITS.has(e.code)) return 0;
      // Help shown because a command group was given no subcommand: a usage error, already explained (under --json, as JSON too).
      if (e.code === 'commander.help') return ctx.json ? report(ctx, usageFailure('a subcommand is missing', usageHint(program, argv, e.code)), undefined) : 2;
      return status(report(ctx, usageFailure(e.message.replace(/^error: /, ''), usageHint(program, argv, e.code)), undefined));
    }
    return status(report(ctx, toFailure(e), e));
  } finally {
    await ctx.close().catch((e: unknown) => ctx.warn(oneLine(`closing the state store failed: ${e instanceof Error ? e.message : String(e)}`)));
  }
}

function report(ctx: CliContext, f: Failure, raw: unknown): number {
  if (ctx.json) ctx.io.stdout.write(JSON.stringify(failureJson(f), null, 2) + '\n');
  else ctx.io.stderr.write(formatFailure(f));
  if (ctx.debug && raw instanceof Error && raw.stack) ctx.io.stderr.write(raw.stack + '\n');
  return exitCodeOf(f);
}

/** Only `--version`/`-V` and `--json`, in any order: commander would print the version and stop. */
function isVersionOnly(argv: readonly string[]): boolean {
  return argv.length > 0 && argv.every((a) => a === '--version' || a === '-V' || a === '--json') && argv.some((a) => a !== '--json');
}

/**
 * `--json` anywhere before `--`, known before parsing so that usage errors come out as JSON too; not the
 * value of a global option (`--host-name --json` names a host, as commander then parses it).
 */
function wantsJson(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return false;
    if (argv[i] === '--json') return true;
    if (takesValue(argv[i]!)) i++;
  }
  return false;
}

/** Whether a token is a global option that takes the next token as its value (GLOBAL_OPTIONS is what program.ts declares). */
function takesValue(token: string): boolean {
  return GLOBAL_OPTIONS.some((o) => o.flags.split(/[ ,]+/).includes(token) && o.flags.includes('<'));
}

/**
 * Whether the command line is `switchyard run …` (its first word that is neither an option nor an
 * option's value is `run`), whose own failures exit 125 (RUN_EXIT) rather than by error kind.
 */
function isRun(argv: readonly string[]): boolean {
  let skipValue = false;
  for (const token of argv) {
    if (skipValue) {
      skipValue = false;
      continue;
    }
    if (token === '--') return false;
    if (token.startsWith('-') && token !== '-') {
      // The global options are the only ones before the command word.
      skipValue = takesValue(token);
      continue;
    }
    return token === 'run';
  }
  return false;
}

/** isRun for tests and tools that check exit statuses: whether a failure of this command line exits 125. */
export function isRunCommandLine(argv: readonly string[]): boolean {
  return isRun(argv);
}

/** The subcommand path the user typed, e.g. `network create`, for the hint. */
function commandPath(program: Command, argv: readonly string[]): Command[] {
  const path: Command[] = [];
  let current = program;
  for (const token of argv) {
    if (token === '--') break;
    if (token.startsWith('-')) continue;
    const next = current.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (!next) continue;
    path.push(next);
    current = next;
  }
  return path;
}

function usageHint(program: Command, argv: readonly string[], code: string): string {
  const path = commandPath(program, argv);
  const names = ['switchyard', ...path.map((c) => c.name())].join(' ');
  if (path.at(-1)?.name() === 'run' && code === 'commander.unknownOption') {
    return 'Put the command to run after `--`: switchyard run --net=NET -- CMD ARGS… (see `switchyard run --help`).';
  }
  return `See \`${names} --help\` for usage.`;
}
