import type { ErrorKind } from '@switchyard/core';

/** What the CLI prints for an error: a SwitchyardError's fields, or the same shape for anything else. */
export interface Failure {
  /** Stable `SWY_ERR_*` code; SWY_ERR_INTERNAL for an unexpected error (a bug). */
  code: string;
  /** The code's kind; decides the exit status ({@link EXIT_CODES}). */
  kind: ErrorKind;
  /** What went wrong, one sentence. */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** Structured facts (printed with `--json`). */
  details?: Record<string, unknown>;
  /** Messages of the underlying failures (teardown gathers several). */
  causes?: string[];
}

/** Exit status per error kind; documented in the README. Usage errors are InvalidArgument. */
export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = Object.freeze({
  Internal: 1,
  InvalidArgument: 2,
  NotFound: 3,
  Conflict: 4,
  Unavailable: 5,
  NotImplemented: 6,
});

/**
 * `run`'s own failures, as `docker run` and `podman run` have them, so they never pass for the
 * command's status: 125 when `run` itself fails (a usage error, a missing network or sandbox, a failed
 * connect or teardown), 126 when the command cannot be executed, 127 when it is not found; otherwise
 * the command's own status (128+n when signal n killed it). Other commands exit by error kind.
 */
export const RUN_EXIT = Object.freeze({ failed: 125, cannotExecute: 126, notFound: 127 });

const KINDS = new Set<string>(Object.keys(EXIT_CODES));

interface CodedError extends Error {
  code: string;
  kind: ErrorKind;
  hint?: string;
  details?: Record<string, unknown>;
}

// Duck-typed so the error path never has to load core (which --help and usage errors avoid).
function isCoded(e: unknown): e is CodedError {
  if (!(e instanceof Error)) return false;
  const c = e as Partial<CodedError>;
  return typeof c.code === 'string' && c.code.startsWith('SWY_ERR_') && typeof c.kind === 'string' && KINDS.has(c.kind);
}

function causeMessages(e: Error): string[] | undefined {
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof AggregateError) return cause.errors.map((x) => (x instanceof Error ? x.message : String(x)));
  if (cause instanceof Error) return [cause.message];
  return undefined;
}

/** Turns anything thrown into a Failure. */
export function toFailure(e: unknown): Failure {
  if (isCoded(e)) {
    const causes = causeMessages(e);
    return {
      code: e.code,
      kind: e.kind,
      message: e.message,
      ...(e.hint ? { hint: e.hint } : {}),
      ...(e.details ? { details: e.details } : {}),
      ...(causes ? { causes } : {}),
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return {
    code: 'SWY_ERR_INTERNAL',
    kind: 'Internal',
    message: `unexpected error: ${message}`,
    hint: 'This is a bug in Switchyard: rerun with SWITCHYARD_DEBUG=1 to see the stack, and report it.',
  };
}

/** A usage error (bad flags or arguments) as the CLI reports it: SWY_ERR_USAGE, exit status 2. */
export function usageFailure(message: string, hint: string): Failure {
  return { code: 'SWY_ERR_USAGE', kind: 'InvalidArgument', message, hint };
}

export function exitCodeOf(f: Failure): number {
  return EXIT_CODES[f.kind];
}

const ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Control characters as escapes: a value echoed in a message (a typed argument, a file's field) cannot add lines or drive the terminal. */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `error: …` / `hint: …` / `code: …` lines for people, each one line whatever the message holds. */
export function formatFailure(f: Failure): string {
  const lines = [`error: ${oneLine(f.message)}`];
  for (const c of f.causes ?? []) lines.push(`  cause: ${oneLine(c)}`);
  if (f.hint) lines.push(`hint: ${oneLine(f.hint)}`);
  if (f.code) lines.push(`code: ${f.code}`);
  return lines.join('\n') + '\n';
}

/** The `--json` form: one object with an `error` key. */
export function failureJson(f: Failure): { error: Failure } {
  return { error: f };
}
