/**
 * How error messages quote a value a caller passed: its JSON text when it has one, else a short
 * description. Never throws: a BigInt, a cycle or a throwing toJSON must not turn a coded refusal
 * into a TypeError.
 */
export function quoteValue(value: unknown): string {
  try {
    const json = JSON.stringify(value);
    if (json !== undefined) return json;
  } catch {
    // No JSON form; described below.
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (value === undefined) return 'undefined';
  return typeof value === 'function' ? 'a function' : `an ${Array.isArray(value) ? 'array' : 'object'} with no JSON form`;
}

/** A value as an error's `details` keep it (`--json` output serialises them): itself when it has a JSON form, else its quoted description. */
export function detailValue(value: unknown): unknown {
  try {
    if (JSON.stringify(value) !== undefined) return value;
  } catch {
    // Falls through to the description.
  }
  return quoteValue(value);
}

/** What a thrown value says: an Error's message, a thrown string as is, anything else quoted (a plugin may throw anything). */
export function thrownMessage(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  return typeof thrown === 'string' ? thrown : quoteValue(thrown);
}
