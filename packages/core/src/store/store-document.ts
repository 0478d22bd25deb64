import type { Collection } from '../spi/state-store.js';
import { SwitchyardError } from '../errors/switchyard-error.js';

/**
 * The one encoding every store uses, so a test against MemoryStore sees what FileStore would keep
 * (Dates become strings, undefined properties vanish).
 */
export function encodeDocument(collection: Collection, id: string, doc: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(doc, null, 2);
  } catch (cause) {
    throw notStorable(collection, id, (cause as Error).message, cause);
  }
  // JSON.stringify returns undefined (not a string) for undefined, functions and symbols.
  if (typeof text !== 'string') throw notStorable(collection, id, `it is ${typeof doc}`);
  return text + '\n';
}

function notStorable(collection: Collection, id: string, why: string, cause?: unknown): SwitchyardError {
  return new SwitchyardError('SWY_ERR_INVALID_OPTION', `The document for ${collection}/${id} cannot be stored as JSON: ${why}`, {
    hint: 'Store plain data (objects, arrays, strings, numbers, booleans, null); convert BigInts and break cycles first.',
    cause,
    details: { collection, id },
  });
}
