import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { ERROR_CODES } from '../errors/codes.js';
import { SwitchyardError } from '../errors/switchyard-error.js';

/**
 * Shared generators and checks for the property-based "hostile and malformed input" tests
 * (`*.fuzz.test.ts` in every package): a mix of valid-looking values, valid values with one hostile
 * edit, and outright garbage, plus the assertion every input surface makes: it works, or it fails
 * with a coded SwitchyardError (a code in ERROR_CODES, a message and a hint).
 */

/** Generated cases per input surface (the issue asks for at least 10,000). */
export const RUNS = 10_000;

/** Pieces that break parsers, file names, shells, hosts files and iproute2 batch lines. */
export const HOSTILE_FRAGMENTS: readonly string[] = [
  '',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r\n',
  '\r',
  '\0',
  '\v',
  '\f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u200b',
  '\u200e',
  '\ufeff',
  '\u202e',
  'é',
  'ǅ',
  '名',
  'İ',
  'ﬀ',
  '😀',
  '\ud800',
  '..',
  '.',
  '../',
  '../../etc/passwd',
  '/',
  '//',
  '\\',
  ':',
  '::',
  '%',
  '%eth0',
  '#',
  '"',
  "'",
  '`',
  '$',
  '$(id)',
  '${IFS}',
  '; rm -rf /',
  '|',
  '&&',
  '>',
  '<',
  '*',
  '?',
  '~',
  '!',
  '-',
  '--',
  '-rf',
  '--help',
  '-h',
  '--json',
  '=',
  ',',
  ';',
  '@',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  '+',
  '0',
  '-1',
  '1e3',
  '0x10',
  'NaN',
  'Infinity',
  'null',
  'undefined',
  'true',
  '__proto__',
  'constructor',
  'default',
  'host',
  'none',
  'all',
  'lo',
  'eth0',
  'x'.repeat(16),
  'a'.repeat(64),
  'b'.repeat(254),
  'c'.repeat(4097),
];

const fragment = fc.constantFrom(...HOSTILE_FRAGMENTS);

// Any code point, lone surrogates included. Built from integers: fast-check's 'binary' string unit costs ~0.5 s to set up in every test file.
const codePoint = fc.oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0xffff }), fc.integer({ min: 0x10000, max: 0x10ffff })).map((cp) => String.fromCodePoint(cp));
const anyText = (maxLength: number, minLength = 0) => fc.array(codePoint, { minLength, maxLength }).map((cps) => cps.join(''));

/** Any string at all: random text of every kind, glued hostile fragments, or one fragment. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fragment, weight: 3 },
  { arbitrary: fc.array(fc.oneof(fragment, fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')), weight: 3 },
  { arbitrary: anyText(24), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 24 }), weight: 2 },
);

/** Values of the wrong type, as a JavaScript caller or a JSON document might pass them. */
export const exoticValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(undefined, null, true, false, 0, -0, 1, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 10n, [], {}, ['eth0'], { name: 'eth0' }, Symbol('x'), () => 'eth0'),
  fc.constant(Object.create(null) as unknown),
  fc.constant(circular()),
  fc.jsonValue({ maxDepth: 2 }),
);

function circular(): unknown {
  const o: Record<string, unknown> = { name: 'loop' };
  o.self = o;
  return o;
}

// Built once: making arbitraries is costly, and edit() runs for every generated value.
const piece = fc.oneof(fragment, anyText(2, 1));
const editOf = fc.tuple(fc.nat(7), fc.double({ min: 0, max: 1, noNaN: true }), piece);

/** One random edit of a string: insert, replace or delete at some position, case, padding, repetition. */
function edit(value: string): fc.Arbitrary<string> {
  return editOf.map(([kind, where, s]) => {
    const i = Math.floor(where * (value.length + 1));
    switch (kind) {
      case 0:
      case 1:
        return value.slice(0, i) + s + value.slice(i);
      case 2:
        return value.slice(0, i) + s + value.slice(i + 1);
      case 3:
        return value.slice(0, i) + value.slice(i + 1);
      case 4:
        return [value.toUpperCase(), ` ${value}`, `${value} `, `${value}\n`][i % 4] as string;
      case 5:
        return [`-${value}`, `${value}${value}`, value.repeat(20), `${value}\0`][i % 4] as string;
      default:
        return s + value;
    }
  });
}

/** Valid-looking values, and the same values with one hostile edit. */
export function nearly(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: valid, weight: 2 }, { arbitrary: valid.chain(edit), weight: 2 });
}

/** Mostly `domain` (valid, and valid with one hostile edit), sometimes any string; `validWeight` raises the share of valid values. */
export function textFor(domain: fc.Arbitrary<string>, validWeight = 2): fc.Arbitrary<string> {
  return fc.oneof({ arbitrary: domain, weight: validWeight }, { arbitrary: domain.chain(edit), weight: 2 }, { arbitrary: hostileString, weight: 1 });
}

/** Usually absent (`undefined`), sometimes a value. */
export function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: arb, weight: 1 });
}

/** Absent half of the time. */
export function maybe<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined, freq: 2 });
}

/** Values of `arb`, and one in twenty of the wrong type. */
export function sometimesExotic<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  const values: fc.Arbitrary<unknown> = arb;
  return fc.oneof({ arbitrary: values, weight: 19 }, { arbitrary: exoticValue, weight: 1 });
}

// ------------------------------------------------------------------ domain generators

export const objectNameText = fc.stringMatching(/^[a-z0-9][a-z0-9_.-]{0,14}$/);
export const ifnameText = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,14}$/), fc.constantFrom('eth0', 'eth1', 'lo', 'veth0', 'br-x', 'a.b', 'x'.repeat(15)));
export const hostNameText = fc.oneof(fc.domain(), fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/));

/** IPv4 addresses: plain, in the odd forms some parsers accept (octal, hex, short), and out of range. */
export const ipv4Text: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.ipV4(), weight: 4 },
  { arbitrary: fc.ipV4Extended(), weight: 1 },
  { arbitrary: fc.constantFrom('0.0.0.0', '255.255.255.255', '127.0.0.1', '169.254.1.1', '224.0.0.1', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.02.03.04', '1.2.3.-4', '1..2.3', ' 1.2.3.4', '10.0.0.1%eth0'), weight: 1 },
);

/** IPv6 addresses, with the edge cases: unspecified, loopback, v4-mapped, zone ids, link-local, bad groups. */
export const ipv6Text: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.ipV6(), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      '::',
      '::1',
      '::ffff:10.1.2.3',
      '::ffff:a01:203',
      '::10.1.2.3',
      'fe80::1',
      'fe80::1%eth0',
      'fe80::1%25eth0',
      'ff02::1',
      '64:ff9b::1.2.3.4',
      '1::2::3',
      ':::',
      '1:2:3:4:5:6:7:8:9',
      'gggg::1',
      'FD00::1',
      '[fd00::1]',
      'fd00::1/64',
    ),
    weight: 1,
  },
);

export const addressText: fc.Arbitrary<string> = fc.oneof(ipv4Text, ipv6Text);

const prefixText = fc.oneof(
  fc.integer({ min: 0, max: 129 }).map(String),
  fc.constantFrom('0', '8', '16', '24', '30', '31', '32', '33', '64', '120', '126', '127', '128', '129', '-1', '', '024', '+24', ' 24', '24 ', '2.4', 'x', '1e1', '99999999999999999999'),
);

/** `address/prefix` with every kind of prefix; addresses often have host bits set. */
export const cidrText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.tuple(addressText, prefixText).map(([a, p]) => `${a}/${p}`), weight: 6 },
  { arbitrary: fc.constantFrom('0.0.0.0/0', '::/0', '10.0.0.0/8', '10.1.0.0/31', '10.1.0.1/32', 'fd00::/127', 'fd00::1/128', '10.1.2.3/24', '::ffff:10.0.0.0/104', 'fe80::/64', '10.0.0.0/8/8', '/24', '10.0.0.0/'), weight: 2 },
  { arbitrary: addressText, weight: 1 },
);

const hexPair = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));

/** MACs: six pairs with ":" (unicast, multicast, zero, broadcast), other separators, wrong lengths. */
export const macText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.array(hexPair, { minLength: 6, maxLength: 6 }).map((p) => p.join(':')), weight: 4 },
  { arbitrary: fc.mixedCase(fc.array(hexPair, { minLength: 6, maxLength: 6 }).map((p) => p.join(':'))), weight: 1 },
  { arbitrary: fc.tuple(fc.array(hexPair, { minLength: 1, maxLength: 9 }), fc.constantFrom(':', '-', '.', '', ' ')).map(([p, sep]) => p.join(sep)), weight: 2 },
  { arbitrary: fc.constantFrom('00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '02:42:ac:11:00:02', '0:1:2:3:4:5', '02:42:ac:11:00:02:', '02:42:ac:11:00:0g'), weight: 1 },
);

/** Numbers as a program passes them: integers of every size, negatives, floats, NaN, infinities. */
export const numberValue: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -70000, max: 70000 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, 67, 68, 1280, 1500, 9000, 65535, 65536, 2 ** 31, 2 ** 32, 2 ** 53, -1, 0.5, NaN, Infinity, -Infinity),
);

/** Numbers as a user types them. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  numberValue.map(String),
  fc.constantFrom('', ' ', '1500 ', ' 1500', '1_500', '1,500', '0x5dc', '0o10', '1e3', '+1500', '-0', '00068', '65535.0', '١٥٠٠', '1500\n', 'NaN', 'Infinity'),
);

// ------------------------------------------------------------------ documents

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path into a JSON value (the value itself is []). */
function pathsOf(value: Json, at: Array<string | number> = []): Array<Array<string | number>> {
  const here = [at];
  if (Array.isArray(value)) return here.concat(...value.map((v, i) => pathsOf(v, [...at, i])));
  if (value !== null && typeof value === 'object') return here.concat(...Object.entries(value).map(([k, v]) => pathsOf(v, [...at, k])));
  return here;
}

/** A copy of `value` with the node at `path` replaced by `make(node)`, or removed when that returns undefined. */
function replaceAt(value: Json, path: Array<string | number>, make: (old: Json) => Json | undefined): Json | undefined {
  if (path.length === 0) return make(value);
  const [head, ...rest] = path as [string | number, ...Array<string | number>];
  if (Array.isArray(value)) {
    const copy = [...value];
    const child = replaceAt(copy[head as number] as Json, rest, make);
    if (child === undefined) copy.splice(head as number, 1);
    else copy[head as number] = child;
    return copy;
  }
  const copy = { ...(value as Record<string, Json>) };
  const child = replaceAt(copy[head] as Json, rest, make);
  if (child === undefined) delete copy[head];
  else copy[head] = child;
  return copy;
}

const hostileJson: fc.Arbitrary<Json> = fc.oneof(
  hostileString,
  fc.constantFrom<Json>(null, true, false, 0, -1, 1e308, 0.5, [], {}, [[]], '10.61.0.0/24', 'bridge', { dst: '0.0.0.0/0' }),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

/** One edit somewhere in a JSON document: a node replaced by a hostile value, a node deleted, or a key (one of `keys`, or any) added. */
export function editedJson(doc: Json, keys: readonly string[]): fc.Arbitrary<Json> {
  return fc.tuple(fc.constantFrom(...pathsOf(doc)), fc.nat(2), hostileJson, textFor(fc.constantFrom(...keys))).map(([path, op, value, key]) => {
    if (op === 0) return replaceAt(doc, path, () => value) ?? null;
    if (op === 1) return replaceAt(doc, path, () => undefined) ?? null;
    return replaceAt(doc, path, (old) => (old !== null && typeof old === 'object' && !Array.isArray(old) ? { ...old, [key]: value } : value)) ?? null;
  });
}

// ------------------------------------------------------------------ checks

/** An assertion cheap enough for 10,000 runs (jest's expect costs ~40 µs a call); fast-check reports the failing case. */
export function check(condition: unknown, what: string | (() => string)): asserts condition {
  if (!condition) throw new Error(`expected ${typeof what === 'string' ? what : what()}`);
}

/** Deep equality, cheaply; on a difference, jest's diff says what changed. */
export function checkSame(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toEqual(expected);
}

/** The outcome failed with exactly `code`. */
export function checkRefused(r: Outcome<unknown>, ...codes: string[]): void {
  check(!r.ok, () => `a refusal with ${codes.join(' or ')}, but it was accepted`);
  if (!r.ok) check(codes.includes(r.error.code), () => `${codes.join(' or ')}, got ${r.error.code}: ${r.error.message}`);
}

/** Fails unless `e` is a SwitchyardError with a known code, a message and a hint. */
export function assertCoded(e: unknown): asserts e is SwitchyardError {
  if (!(e instanceof SwitchyardError)) {
    const what = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : safeText(e);
    throw new Error(`expected a coded SwitchyardError, got an uncoded ${typeof e}: ${what}`);
  }
  const problems = [
    Object.hasOwn(ERROR_CODES, e.code) ? undefined : `its code ${safeText(e.code)} is not in ERROR_CODES`,
    typeof e.message === 'string' && e.message.trim() !== '' ? undefined : 'it has no message',
    typeof e.hint === 'string' && e.hint.trim() !== '' ? undefined : 'it has no hint',
  ].filter((p) => p !== undefined);
  if (problems.length > 0) throw new Error(`SwitchyardError ${e.code} (${e.message}) is not a proper coded error: ${problems.join('; ')}`);
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: SwitchyardError };

/** Runs `fn`: its value, or the coded error it threw; anything else thrown fails the property. */
export async function attempt<T>(fn: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    assertCoded(e);
    return { ok: false, error: e };
  }
}

/** Synchronous `attempt`. */
export function attemptSync<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    assertCoded(e);
    return { ok: false, error: e };
  }
}

function safeText(v: unknown): string {
  try {
    return typeof v === 'string' ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

// ------------------------------------------------------------------ files

/** A scratch directory on tmpfs when there is one (the fuzz tests write many small files), else in tmpdir. */
export function scratchDir(prefix: string): { path: string; cleanup(): void } {
  const base = existsSync('/dev/shm') && statSync('/dev/shm').isDirectory() ? '/dev/shm' : tmpdir();
  const path = mkdtempSync(join(base, prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Every file below `dir` with its content, and every directory: a picture for before/after comparisons. */
export function fileTree(dir: string, out: Record<string, string> = {}, prefix = ''): Record<string, string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      out[`${prefix}/${entry.name}/`] = '';
      fileTree(path, out, `${prefix}/${entry.name}`);
    } else out[`${prefix}/${entry.name}`] = readFileSync(path, 'utf8');
  }
  return out;
}
