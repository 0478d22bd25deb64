/**
 * The network configuration a runtime writes on the plugin's stdin (SPEC.md 1.1.0, "Section 1" and the
 * operations' inputs): decoded (code 6), version-checked (codes 7 and 1, and the command gates), then the
 * well-known fields validated (code 7). Plugin-specific keys are kept as they are, for the plugin to judge.
 */
import type { CniCommand } from './env.js';
import { CNI_ERROR_CODES, CniError } from './errors.js';
import { resultProblems, type CniDns } from './result.js';
import { dnsProblems, isJsonObject, show, SPEC_NAME_PATTERN, summarize, type JsonObject } from './validate.js';
import { assertCommandAllowed, assertSupportedVersion, isSupportedVersion, SUPPORTED_VERSIONS, type CniVersion } from './versions.js';

/** The `ipam` section: `type` names the IPAM plugin; the rest is that plugin's. `{}` (no type) means no IPAM, as configs write it. */
export interface IpamConf {
  /** The IPAM plugin's executable name, e.g. `host-local`. */
  type?: string;
  [key: string]: unknown;
}

/** A plugin configuration object, validated as the spec defines its well-known fields; other keys are the plugin's. */
export interface NetConf {
  /** The spec version the runtime speaks; the result is printed in it. */
  cniVersion: CniVersion;
  /** The network's name, unique on the host. */
  name: string;
  /** The plugin's executable name. */
  type: string;
  /** IPAM configuration, for plugins that delegate addressing. */
  ipam?: IpamConf;
  /** DNS settings the runtime asks the plugin to report. */
  dns?: CniDns;
  /** Runtime-supplied values for the capabilities the plugin declared (`portMappings`, `mac`, …). */
  runtimeConfig?: JsonObject;
  /** The previous result in the chain, in the config's cniVersion (runPlugin hands handlers the 1.x form). */
  prevResult?: JsonObject;
  /** Extra arguments the runtime passes (`args.cni`, …); plugin-specific. */
  args?: JsonObject;
  [key: string]: unknown;
}

/** What VERSION reads from stdin: only the runtime's cniVersion, which may be absent. */
export interface VersionRequest {
  /** The version the runtime asked for, if it gave one. */
  cniVersion?: string;
}

/** One attachment a GC must keep: the CNI_CONTAINERID and CNI_IFNAME of its ADD. */
export interface GcAttachment {
  /** The container id (`CNI_CONTAINERID`) of the ADD. */
  containerID: string;
  /** The interface name (`CNI_IFNAME`) of the ADD. */
  ifname: string;
}

/** The key under which the runtime lists the attachments GC must keep (the reference library's name for it). */
export const GC_ATTACHMENTS_KEY = 'cni.dev/valid-attachments';
/** The name SPEC.md 1.1.0's text gives the same list; libcni sends both keys with the same value, so either is read. */
export const GC_ATTACHMENTS_SPEC_KEY = 'cni.dev/attachments';

/**
 * Parses the stdin of `command`. VERSION reads it leniently: an empty stdin or a missing or odd cniVersion is no
 * error (a runtime probing versions need not know one), though text that is not a JSON object still is (code 6).
 * Every other command gets a validated NetConf, or a CniError: 6 not a JSON object; 7 cniVersion missing or
 * malformed; 1 a version outside `supported` or one that predates the command (CHECK < 0.4.0, STATUS and GC
 * < 1.1.0); 7 for the well-known fields (name, type, ipam, dns, runtimeConfig, args, prevResult), a CHECK
 * without prevResult, or a GC without its list of attachments to keep.
 */
export function parseConfig(stdin: string, command: 'VERSION', supported?: readonly CniVersion[]): VersionRequest;
export function parseConfig(stdin: string, command: Exclude<CniCommand, 'VERSION'>, supported?: readonly CniVersion[]): NetConf;
export function parseConfig(stdin: string, command: CniCommand, supported?: readonly CniVersion[]): NetConf | VersionRequest;
export function parseConfig(stdin: string, command: CniCommand, supported: readonly CniVersion[] = SUPPORTED_VERSIONS): NetConf | VersionRequest {
  if (command === 'VERSION') return parseVersionRequest(stdin);
  const config = decodeJsonObject(stdin, 'network config');
  const version = assertSupportedVersion(config.cniVersion, supported);
  assertCommandAllowed(command, version);
  const problems = configProblems(config, command, version);
  if (problems.length > 0) throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, 'invalid network config', summarize(problems));
  return config;
}

/** `text` decoded as a JSON object, or a CniError with code 6. */
export function decodeJsonObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CniError(CNI_ERROR_CODES.DECODING_FAILURE, `failed to decode ${what}`, reason.length > 200 ? `${reason.slice(0, 197)}...` : reason);
  }
  if (!isJsonObject(value)) throw new CniError(CNI_ERROR_CODES.DECODING_FAILURE, `failed to decode ${what}`, `expected a JSON object, got ${show(value)}`);
  return value;
}

function parseVersionRequest(stdin: string): VersionRequest {
  if (stdin.trim() === '') return {};
  const request = decodeJsonObject(stdin, 'VERSION request');
  return typeof request.cniVersion === 'string' ? { cniVersion: request.cniVersion } : {};
}

/** The config's cniVersion when stdin is a JSON object carrying one of `supported`, else undefined; never throws. Used to answer an error in the runtime's version. */
export function peekConfigVersion(stdin: string, supported: readonly CniVersion[] = SUPPORTED_VERSIONS): CniVersion | undefined {
  try {
    const value: unknown = JSON.parse(stdin);
    return isJsonObject(value) && isSupportedVersion(value.cniVersion, supported) ? value.cniVersion : undefined;
  } catch {
    return undefined;
  }
}

function configProblems(config: JsonObject, command: CniCommand, version: CniVersion): string[] {
  const problems = [...nameProblems(config.name), ...executableProblems('type', config.type, true)];
  if (config.ipam !== undefined) problems.push(...(isJsonObject(config.ipam) ? executableProblems('ipam.type', config.ipam.type, false) : [`ipam must be an object, got ${show(config.ipam)}`]));
  if (config.dns !== undefined) problems.push(...dnsProblems(config.dns, 'dns'));
  for (const key of ['runtimeConfig', 'args'] as const) {
    if (config[key] !== undefined && !isJsonObject(config[key])) problems.push(`${key} must be an object, got ${show(config[key])}`);
  }
  if (config.prevResult !== undefined) problems.push(...prevResultProblems(config.prevResult, version));
  // The spec requires the runtime to pass the ADD's result to CHECK: without it there is nothing to check against.
  else if (command === 'CHECK') problems.push('prevResult is required for CHECK (the result of the ADD being checked)');
  if (command === 'GC') problems.push(...attachmentProblems(attachmentList(config)));
  return problems;
}

function nameProblems(name: unknown): string[] {
  if (name === undefined) return ['name is missing'];
  if (typeof name !== 'string' || !SPEC_NAME_PATTERN.test(name)) return [`name must start with an alphanumeric character, followed by alphanumerics, "_", "." or "-", got ${show(name)}`];
  return [];
}

/** `type` and `ipam.type` name an executable: the spec forbids characters disallowed in file names ("/", and "\" for Windows). */
function executableProblems(key: string, value: unknown, required: boolean): string[] {
  if (value === undefined) return required ? [`${key} is missing`] : [];
  if (typeof value !== 'string' || (required && value === '')) return [`${key} must be a non-empty string, got ${show(value)}`];
  if (/[/\\\0]/.test(value)) return [`${key} names an executable and must not contain "/", "\\" or NUL, got ${show(value)}`];
  return [];
}

/** A prevResult is read in the config's version (its own cniVersion does not matter, as in the reference library). */
function prevResultProblems(prevResult: unknown, version: CniVersion): string[] {
  if (!isJsonObject(prevResult)) return [`prevResult must be an object, got ${show(prevResult)}`];
  return resultProblems({ ...prevResult, cniVersion: version }, version).map((problem) => `prevResult: ${problem}`);
}

function attachmentList(config: JsonObject): unknown {
  return config[GC_ATTACHMENTS_KEY] ?? config[GC_ATTACHMENTS_SPEC_KEY];
}

/**
 * A missing list is an error, not "keep nothing": GC deletes whatever is not listed, so reading a missing field
 * as an empty list would tear down every attachment of the network.
 */
function attachmentProblems(list: unknown): string[] {
  if (list === undefined) return [`${GC_ATTACHMENTS_KEY} is required for GC (the attachments to keep)`];
  if (!Array.isArray(list)) return [`${GC_ATTACHMENTS_KEY} must be a list, got ${show(list)}`];
  return list.flatMap((entry: unknown, i) => {
    const valid = isJsonObject(entry) && typeof entry.containerID === 'string' && typeof entry.ifname === 'string';
    return valid ? [] : [`${GC_ATTACHMENTS_KEY}[${i}] must be an object with string containerID and ifname, got ${show(entry)}`];
  });
}

/** The attachments a GC must keep, from a config parseConfig accepted for GC; throws a CniError with code 7 when the list is missing or malformed. */
export function gcAttachments(config: NetConf): GcAttachment[] {
  const list = attachmentList(config);
  const problems = attachmentProblems(list);
  if (problems.length > 0 || !Array.isArray(list)) throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, 'invalid network config', summarize(problems));
  return (list as GcAttachment[]).map(({ containerID, ifname }) => ({ containerID, ifname }));
}
