import { randomBytes } from 'node:crypto';
import { quoteValue } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';

/** A 64-hex-digit object id, as Docker uses. */
export function newId(): string {
  return randomBytes(32).toString('hex');
}

/** The first 12 characters of an id, as Docker prints ids. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

const OBJECT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** A locally administered unicast MAC derived from a hex id (`02:` + its first five bytes): stable for the object. */
export function macFromId(id: string): string {
  const hex = id
    .replace(/[^0-9a-f]/gi, '')
    .toLowerCase()
    .padEnd(10, '0')
    .slice(0, 10);
  return ['02', ...(hex.match(/../g) ?? [])].join(':');
}

/**
 * Network and sandbox names: what Docker accepts, and safe as file and netns names (1-63 letters, digits,
 * "_", "." or "-", starting with a letter or digit; ".." would make a store file name climb a directory).
 */
export function isObjectName(name: unknown): name is string {
  return typeof name === 'string' && OBJECT_NAME.test(name) && !name.includes('..');
}

/** Throws SWY_ERR_INVALID_NAME, naming `what` (e.g. `Network`), unless `name` passes {@link isObjectName}. */
export function assertObjectName(what: string, name: unknown): asserts name is string {
  if (!isObjectName(name)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `${what} name ${quoteValue(name)} is not valid`, {
      hint: 'Use 1-63 characters: letters, digits, "_", "." or "-", starting with a letter or digit, with no "..".',
    });
  }
}
