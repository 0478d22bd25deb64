/**
 * The protocol parameters a runtime passes in environment variables (SPEC.md 1.1.0, "Parameters"):
 * CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS and CNI_PATH. Every problem is error code 4,
 * whose message the spec requires to name the offending variables.
 */
import { CNI_ERROR_CODES, CniError } from './errors.js';
import { SPEC_NAME_PATTERN, show } from './validate.js';

/** The operations of CNI 1.1.0. */
export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
/** A CNI operation, as `CNI_COMMAND` names it. */
export type CniCommand = (typeof CNI_COMMANDS)[number];

/**
 * The variables each command cannot run without (an empty value counts as missing, as in the reference skel).
 * DEL does without CNI_NETNS: the namespace may already be gone, and DEL must still release what it can.
 * CNI_PATH is needed by GC only (SPEC.md 1.1); a plugin that delegates to another (IPAM) reports its own
 * error when it needs the path and has none.
 */
export const REQUIRED_ENVIRONMENT: Readonly<Record<CniCommand, readonly string[]>> = {
  // As SPEC.md 1.1 lists them: CNI_PATH is optional for ADD, CHECK, DEL and STATUS (the reference
  // plugins' skel asks more; a runtime that follows the spec to the letter must not be refused).
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  STATUS: [],
  GC: ['CNI_PATH'],
  VERSION: [],
};

/** The commands about one attachment (container, interface): only they read CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and CNI_ARGS. */
const ATTACHMENT_COMMANDS: readonly CniCommand[] = ['ADD', 'DEL', 'CHECK'];

/** The parsed environment. The attachment fields are set for ADD, DEL and CHECK only (netns may be absent on DEL). */
export interface CniEnvironment {
  /** `CNI_COMMAND`. */
  command: CniCommand;
  /** `CNI_CONTAINERID`: the container's id (required for ADD, DEL, CHECK). */
  containerId?: string;
  /** `CNI_NETNS`: path of the container's network namespace (required for ADD and CHECK). */
  netns?: string;
  /** `CNI_IFNAME`: the interface name to create inside the container (required for ADD, DEL, CHECK). */
  ifname?: string;
  /** CNI_ARGS as key/value pairs ({} when unset or for a command other than ADD, DEL, CHECK). */
  args: Record<string, string>;
  /** CNI_PATH's directories, in order ([] when unset). */
  path: string[];
}

/** Parses and validates the CNI_* variables of `env` (e.g. process.env); throws a CniError with code 4. */
export function parseEnvironment(env: Record<string, string | undefined>): CniEnvironment {
  const command = parseCommand(env.CNI_COMMAND);
  const missing = REQUIRED_ENVIRONMENT[command].filter((name) => !isSet(env[name]));
  if (missing.length > 0) throw invalidEnvironment(`missing environment variables: ${missing.join(', ')}`, `CNI_COMMAND=${command} needs ${REQUIRED_ENVIRONMENT[command].join(', ')}`);
  const path = parseCniPath(env.CNI_PATH ?? '');
  // STATUS, GC and VERSION concern no attachment: stray attachment variables are none of their business.
  if (!ATTACHMENT_COMMANDS.includes(command)) return { command, args: {}, path };

  // Present: the required-variable check above ran for every attachment command.
  const containerId = env.CNI_CONTAINERID ?? '';
  const ifname = env.CNI_IFNAME ?? '';
  const args = splitCniArgs(env.CNI_ARGS ?? '');
  const problems = [
    ['CNI_CONTAINERID', containerIdProblem(containerId)],
    ['CNI_IFNAME', ifnameProblem(ifname)],
    ['CNI_ARGS', typeof args === 'string' ? args : undefined],
  ].filter((entry): entry is [string, string] => entry[1] !== undefined);
  if (problems.length > 0) {
    throw invalidEnvironment(`invalid environment variables: ${problems.map(([name]) => name).join(', ')}`, problems.map(([name, problem]) => `${name} ${problem}`).join('; '));
  }
  const parsed: CniEnvironment = { command, containerId, ifname, args: typeof args === 'string' ? {} : args, path };
  if (isSet(env.CNI_NETNS)) parsed.netns = env.CNI_NETNS;
  return parsed;
}

function isSet(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

function invalidEnvironment(msg: string, details: string): CniError {
  return new CniError(CNI_ERROR_CODES.INVALID_ENVIRONMENT, msg, details);
}

function parseCommand(value: string | undefined): CniCommand {
  const expected = `CNI_COMMAND must be one of ${CNI_COMMANDS.join(', ')}`;
  if (!isSet(value)) throw invalidEnvironment('missing environment variables: CNI_COMMAND', expected);
  const command = CNI_COMMANDS.find((c) => c === value);
  // Case matters: the spec's commands are upper case, and the reference skel refuses "add" too.
  if (command === undefined) throw invalidEnvironment('unknown CNI_COMMAND', `${expected}, got ${show(value)}`);
  return command;
}

/** Why `id` is not a valid CNI_CONTAINERID (the spec's rule), or undefined when it is one. */
export function containerIdProblem(id: string): string | undefined {
  if (id === '') return 'must not be empty';
  if (!SPEC_NAME_PATTERN.test(id)) return `must start with an alphanumeric character, followed by alphanumerics, "_", "." or "-", got ${show(id)}`;
  return undefined;
}

/** Linux's IFNAMSIZ: 16 bytes with the terminating NUL, so a name is at most 15 bytes. */
const MAX_IFNAME_BYTES = 15;

/**
 * Why `name` is not an interface name Linux accepts (the kernel's dev_valid_name, which the spec defers to),
 * or undefined when it is one. Linux counts bytes, not characters, and its isspace() is byte-wise: besides
 * " \t\n\v\f\r" it classes 0xA0 as a space, so a UTF-8 name holding that byte (e.g. "à") is refused too.
 */
export function ifnameProblem(name: string): string | undefined {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length === 0) return 'must not be empty';
  if (bytes.length > MAX_IFNAME_BYTES) return `must be at most ${MAX_IFNAME_BYTES} bytes, got ${bytes.length} (${show(name)})`;
  if (name === '.' || name === '..') return `must not be "." or "..", got ${show(name)}`;
  // NUL would end the name early in the kernel: the interface would get another name than the one asked for.
  if (bytes.some((b) => b === 0x2f || b === 0x3a || isLinuxSpace(b) || b === 0)) return `must not contain "/", ":", NUL or whitespace, got ${show(name)}`;
  return undefined;
}

function isLinuxSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || byte === 0xa0;
}

/**
 * CNI_ARGS ("FOO=BAR;ABC=123") as key/value pairs. Throws a CniError with code 4 for an item without "=" or
 * with an empty key. An empty string gives {}; empty items (a trailing or doubled ";") are skipped; a value
 * may hold "=" (only the first one splits); a key given twice keeps its last value.
 */
export function parseCniArgs(text: string): Record<string, string> {
  const args = splitCniArgs(text);
  if (typeof args === 'string') throw invalidEnvironment('invalid environment variables: CNI_ARGS', `CNI_ARGS ${args}`);
  return args;
}

/** The pairs, or the problem as a string (so that parseEnvironment can report it beside the others). */
function splitCniArgs(text: string): Record<string, string> | string {
  const pairs: [string, string][] = [];
  for (const item of text.split(';')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq === -1) return `item ${show(item)} is not KEY=VALUE`;
    if (eq === 0) return `item ${show(item)} has an empty key`;
    pairs.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  // fromEntries defines own properties: a "__proto__" key is kept as data, never as the prototype.
  return Object.fromEntries(pairs);
}

/** CNI_PATH's directories: split on ":" (the Linux list separator), empty entries dropped. */
export function parseCniPath(text: string): string[] {
  return text.split(':').filter((dir) => dir !== '');
}
