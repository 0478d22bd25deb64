import { SwitchyardError } from '../errors/switchyard-error.js';
import type { ErrorCode } from '../errors/codes.js';

/** Runs fn and returns the SwitchyardError it throws; throws when it throws anything else, or nothing. */
export async function caught(fn: () => unknown): Promise<SwitchyardError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof SwitchyardError) return e;
    throw e;
  }
  throw new Error('expected a SwitchyardError, but the call succeeded');
}

/** Throws unless the error has the code, names every one of `mentions` in its sentence and carries a hint. */
export function expectCoded(error: SwitchyardError, code: ErrorCode, ...mentions: string[]): void {
  const problems: string[] = [];
  if (error.code !== code) problems.push(`code ${error.code}, expected ${code}`);
  for (const m of mentions) if (!error.message.includes(m)) problems.push(`the message does not mention ${JSON.stringify(m)}`);
  if (typeof error.hint !== 'string' || error.hint.length <= 10) problems.push('no hint of more than 10 characters');
  if (problems.length > 0) throw new Error(`${problems.join('; ')}: ${error.message}`);
}
