import type { Collection } from '../spi/state-store.js';
import { SwitchyardError } from '../errors/switchyard-error.js';

const CORE_COLLECTIONS: readonly string[] = ['networks', 'sandboxes', 'endpoints', 'intents', 'meta', 'hosts'];
const PLUGIN_PREFIX = 'plugin:';
/** Bytes, not characters: the id plus `.json` and a temp-file suffix must fit a 255-byte file name. */
export const MAX_ID_BYTES = 200;
const MAX_PLUGIN_NAME_BYTES = 100;

const ID_RULES = `1–${MAX_ID_BYTES} bytes, no '/', no '..', no control characters, not starting with '.'`;

/** Why `name` cannot be a file-name component, or undefined when it can. */
function problemWith(name: unknown, maxBytes: number): string | undefined {
  if (typeof name !== 'string') return `is a ${typeof name}, not a string`;
  if (name.length === 0) return 'is empty';
  if (Buffer.byteLength(name) > maxBytes) return `is longer than ${maxBytes} bytes`;
  if (name.includes('/')) return "contains '/'";
  if (name.includes('..')) return "contains '..'";
  if (name.startsWith('.')) return "starts with '.' (reserved for temporary files)";
  // Control characters (NUL included) break file names and terminal output.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point of this check
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  return undefined;
}

/** Throws SWY_ERR_INVALID_NAME unless `id` can safely name a document file. */
export function assertValidId(collection: Collection, id: unknown): asserts id is string {
  const problem = problemWith(id, MAX_ID_BYTES);
  if (problem === undefined) return;
  throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Invalid id ${JSON.stringify(String(id))} in ${collection}: it ${problem}`, {
    hint: `Store ids must be ${ID_RULES}.`,
    details: { collection, id: String(id) },
  });
}

/**
 * Throws SWY_ERR_INVALID_NAME unless `collection` is a core collection or `plugin:<name>`;
 * returns the directory name it is kept in (`plugin:x` -> `plugin-x`, which no core name can clash with).
 */
export function collectionDirName(collection: Collection): string {
  if (typeof collection === 'string' && CORE_COLLECTIONS.includes(collection)) return collection;
  if (typeof collection === 'string' && collection.startsWith(PLUGIN_PREFIX)) {
    const plugin = collection.slice(PLUGIN_PREFIX.length);
    const problem = problemWith(plugin, MAX_PLUGIN_NAME_BYTES);
    if (problem === undefined) return `plugin-${plugin}`;
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Invalid collection ${JSON.stringify(collection)}: the plugin name ${problem}`, {
      hint: `Plugin collections are 'plugin:<name>' with a name of 1–${MAX_PLUGIN_NAME_BYTES} bytes, no '/', no '..', no control characters, not starting with '.'.`,
      details: { collection },
    });
  }
  throw new SwitchyardError('SWY_ERR_INVALID_NAME', `Unknown collection ${JSON.stringify(String(collection))}`, {
    hint: `Use one of ${CORE_COLLECTIONS.join(', ')} or 'plugin:<name>' for a plugin's own documents.`,
    details: { collection: String(collection) },
  });
}
