import { ERROR_CODES, type ErrorCode, type ErrorKind } from './codes.js';

/** The optional parts of a {@link SwitchyardError}. */
export interface SwitchyardErrorOptions {
  /** What the user can do about it, one sentence. */
  hint?: string;
  /** The underlying error, kept as the standard `cause`. */
  cause?: unknown;
  /** Structured facts for machines (`--json` output, logs). */
  details?: Record<string, unknown>;
}

/** The one error type Switchyard throws at users: a stable code, a kind, a sentence and a hint. */
export class SwitchyardError extends Error {
  /** The stable code (`SWY_ERR_…`); see docs/errors.md for every code. */
  readonly code: ErrorCode;
  /** The code's kind (`NotFound`, `InvalidArgument`, `Conflict`, `Unavailable`, `NotImplemented` or `Internal`); the CLI's exit status follows it. */
  readonly kind: ErrorKind;
  /** What the user can do about it, one sentence. */
  readonly hint: string | undefined;
  /** Structured facts for machines (`--json` output, logs). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchyardError';
    this.code = code;
    this.kind = ERROR_CODES[code];
    this.hint = options.hint;
    this.details = options.details;
  }

  /** Message and hint as a user reads them. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }

  /** The error as plain JSON: code, kind, message, hint and details (what `--json` prints). */
  toJSON(): Record<string, unknown> {
    return { code: this.code, kind: this.kind, message: this.message, hint: this.hint, details: this.details };
  }
}

/** True when `e` is a {@link SwitchyardError}, and (when `code` is given) one with that code. */
export function isSwitchyardError(e: unknown, code?: ErrorCode): e is SwitchyardError {
  return e instanceof SwitchyardError && (code === undefined || e.code === code);
}

/** Runs every cleanup step even when some fail; throws one AggregateError (coded) listing all failures. */
export async function runAllCleanups(label: string, steps: Array<() => Promise<unknown>>): Promise<void> {
  const failures: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      failures.push(e);
    }
  }
  if (failures.length > 0) {
    throw new SwitchyardError('SWY_ERR_TEARDOWN_FAILED', `${label}: ${failures.length} cleanup step(s) failed`, {
      hint: 'The remaining steps still ran; see `cause` for each failure and remove what is left by name.',
      cause: new AggregateError(failures, label),
    });
  }
}

/**
 * The failures under an error (each of a teardown's AggregateError, or its one cause), each as its message,
 * followed by its code in parentheses when `withCodes` and it has one; empty when there is no cause.
 */
export function causeMessages(e: unknown, withCodes = false): string[] {
  const cause = e instanceof Error ? (e as { cause?: unknown }).cause : undefined;
  const list: unknown[] = cause instanceof AggregateError ? cause.errors : cause instanceof Error ? [cause] : [];
  return list.map((x) => (x instanceof Error ? x.message + (withCodes && x instanceof SwitchyardError ? ` (${x.code})` : '') : String(x)));
}
