/**
 * The spec versions this layer speaks, and the version gates: a config's cniVersion must be one the plugin
 * supports (code 1, or 7 when it is not a version at all), and CHECK, STATUS and GC exist only from the spec
 * versions that introduced them.
 */
import type { CniCommand } from './env.js';
import { CNI_ERROR_CODES, CniError } from './errors.js';
import { show } from './validate.js';

/**
 * The versions whose result format this layer can write, oldest first. 0.3.1 is the oldest with today's
 * result shape (interfaces, ips, routes); 0.1.0/0.2.0 (ip4/ip6) and 0.3.0 are not spoken.
 */
export const SUPPORTED_VERSIONS = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
/** A CNI spec version this layer speaks: `0.3.1`, `0.4.0`, `1.0.0` or `1.1.0`. */
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest version this layer speaks. */
export const NEWEST_VERSION: CniVersion = '1.1.0';

/** The first spec version that has each command; commands not listed exist in every supported version. */
export const COMMAND_MINIMUM_VERSIONS: Readonly<Partial<Record<CniCommand, CniVersion>>> = {
  CHECK: '0.4.0',
  STATUS: '1.1.0',
  GC: '1.1.0',
};

/** Semantic Version 2.0's core (x.y.z, no leading zeros), which is all a cniVersion is. */
const VERSION_PATTERN = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$/;

/** [major, minor, patch] of an x.y.z version, or undefined when `text` is not one. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const match = VERSION_PATTERN.exec(text);
  if (match === null) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`; throws a RangeError for a string that is not x.y.z. */
export function compareVersions(a: string, b: string): number {
  const left = parseVersion(a);
  const right = parseVersion(b);
  if (left === undefined || right === undefined) throw new RangeError(`not an x.y.z version: ${show(left === undefined ? a : b)}`);
  return left[0] - right[0] || left[1] - right[1] || left[2] - right[2];
}

/** Whether `value` is one of `supported` (by default, every version this layer speaks). */
export function isSupportedVersion(value: unknown, supported: readonly CniVersion[] = SUPPORTED_VERSIONS): value is CniVersion {
  return typeof value === 'string' && supported.some((v) => v === value);
}

/** The newest of `versions` (which must not be empty). */
export function newestVersion(versions: readonly CniVersion[]): CniVersion {
  return versions.reduce((newest, v) => (compareVersions(v, newest) > 0 ? v : newest));
}

/**
 * `value` as a supported version, or a CniError: 7 "invalid network config" when it is missing, not a string or
 * not an x.y.z version at all (the config is malformed), 1 "incompatible CNI versions" when it is a version the
 * plugin does not support (the details list the ones it does, as the reference skel's do).
 */
export function assertSupportedVersion(value: unknown, supported: readonly CniVersion[] = SUPPORTED_VERSIONS): CniVersion {
  if (value === undefined) throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, 'invalid network config', 'cniVersion is missing');
  if (typeof value !== 'string') throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, 'invalid network config', `cniVersion must be a string, got ${show(value)}`);
  if (parseVersion(value) === undefined) throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, 'invalid network config', `cniVersion must be a version like "1.1.0", got ${show(value)}`);
  if (!isSupportedVersion(value, supported)) {
    throw new CniError(CNI_ERROR_CODES.INCOMPATIBLE_VERSION, 'incompatible CNI versions', `config is ${show(value)}, plugin supports ${supported.join(', ')}`);
  }
  return value;
}

/** Throws a CniError with code 1 when `command` did not exist yet in spec version `version` (CHECK before 0.4.0, STATUS and GC before 1.1.0). */
export function assertCommandAllowed(command: CniCommand, version: CniVersion): void {
  const minimum = COMMAND_MINIMUM_VERSIONS[command];
  if (minimum !== undefined && compareVersions(version, minimum) < 0) {
    throw new CniError(CNI_ERROR_CODES.INCOMPATIBLE_VERSION, `config version does not allow ${command}`, `${command} needs cniVersion ${minimum} or newer, the config has ${version}`);
  }
}
