/**
 * The success result of ADD (SPEC.md, "Section 5: Result Types") in every supported version, the conversions
 * between them, and resultProblems: the result schema written down as code, for the plugins' own output, for
 * the prevResult a runtime hands in, and for the runtime-side harness.
 *
 * What differs between versions:
 * - 0.3.1, 0.4.0: each ip has `version` ("4" or "6"); interfaces have name, mac, sandbox; routes have dst, gw.
 * - 1.0.0: ips lose `version` (the address says it); the rest as in 0.4.0.
 * - 1.1.0: interfaces gain mtu, socketPath, pciID; routes gain mtu, advmss, priority, table, scope.
 */
import { CNI_ERROR_CODES, CniError } from './errors.js';
import { compareVersions, isSupportedVersion, NEWEST_VERSION, SUPPORTED_VERSIONS, type CniVersion } from './versions.js';
import { cidrFamily, DNS_KEYS, dnsProblems, ipFamily, isJsonObject, isUint32, show, summarize, unknownKeyProblems } from './validate.js';

/** An interface the attachment created (1.x form; mtu, socketPath and pciID exist from 1.1.0). */
export interface CniInterface {
  /** Interface name (inside the sandbox for a container interface). */
  name: string;
  /** Required when L2 addresses are meaningful. */
  mac?: string;
  /** Interface MTU in bytes (1.1.0). */
  mtu?: number;
  /** The netns path (or hypervisor identifier) for a container interface; empty or absent for a host interface. */
  sandbox?: string;
  /** Path of a socket the interface is reached through, for userspace interfaces such as vhost-user (1.1.0). */
  socketPath?: string;
  /** PCI address of the device, for SR-IOV and other PCI interfaces (1.1.0). */
  pciID?: string;
}

/** An address the attachment assigned (1.x form: no `version`). */
export interface CniIpConfig {
  /** An address with its prefix length, e.g. "10.1.0.5/24". */
  address: string;
  /** Default gateway for this address's subnet, when there is one. */
  gateway?: string;
  /** Index into the result's `interfaces`. */
  interface?: number;
}

/** A route (mtu, advmss, priority, table and scope exist from 1.1.0). */
export interface CniRoute {
  /** Destination in CIDR notation. */
  dst: string;
  /** Next hop; when absent, a gateway from `ips` may be used. */
  gw?: string;
  /** Route MTU in bytes (1.1.0). */
  mtu?: number;
  /** TCP advertised maximum segment size for the route (1.1.0). */
  advmss?: number;
  /** Route priority (metric); lower wins (1.1.0). */
  priority?: number;
  /** Routing table id the route goes into (1.1.0). */
  table?: number;
  /** Route scope as the kernel's numeric value, e.g. 0 universe, 253 link (1.1.0). */
  scope?: number;
}

/** The spec's well-known DNS structure. */
export interface CniDns {
  /** Name server addresses, in priority order. */
  nameservers?: string[];
  /** Local domain used for short-hostname lookups. */
  domain?: string;
  /** Search domains, in priority order. */
  search?: string[];
  /** Resolver options (resolv.conf `options`), e.g. `ndots:2`. */
  options?: string[];
}

/** A result in the 1.x form, as handlers return it. `cniVersion`, when present, is ignored: resultFor sets it. */
export interface CniResult {
  /** Ignored when printing: {@link resultFor} sets the version. */
  cniVersion?: string;
  /** Interfaces the attachment created or used. */
  interfaces?: CniInterface[];
  /** Addresses assigned. */
  ips?: CniIpConfig[];
  /** Routes added inside the sandbox. */
  routes?: CniRoute[];
  /** DNS settings for the sandbox. */
  dns?: CniDns;
}

/** An ip of a result in a given version: 0.3.1 and 0.4.0 add `version`. */
export interface VersionedIpConfig extends CniIpConfig {
  /** Address family, present in 0.3.1 and 0.4.0 results only. */
  version?: '4' | '6';
}

/** A result as printed for one version. */
export interface VersionedResult {
  /** The spec version this result is written in. */
  cniVersion: CniVersion;
  /** Interfaces, with this version's fields only. */
  interfaces?: CniInterface[];
  /** Addresses, with `version` before 1.0.0. */
  ips?: VersionedIpConfig[];
  /** Routes, with this version's fields only. */
  routes?: CniRoute[];
  /** DNS settings. */
  dns?: CniDns;
}

/** The top-level fields of a result, in every version. `ips` and `interfaces` are optional: IPAM plugins omit interfaces, and a plugin that assigns no address has no ips (the reference plugins then omit the key). */
const RESULT_KEYS = ['cniVersion', 'interfaces', 'ips', 'routes', 'dns'] as const;

interface Schema {
  interface: readonly string[];
  ip: readonly string[];
  route: readonly string[];
}

const LEGACY_SCHEMA: Schema = { interface: ['name', 'mac', 'sandbox'], ip: ['version', 'address', 'gateway', 'interface'], route: ['dst', 'gw'] };

/** The fields of each structure, per version, in the spec's order. */
const SCHEMAS: Readonly<Record<CniVersion, Schema>> = {
  '0.3.1': LEGACY_SCHEMA,
  '0.4.0': LEGACY_SCHEMA,
  '1.0.0': { interface: ['name', 'mac', 'sandbox'], ip: ['address', 'gateway', 'interface'], route: ['dst', 'gw'] },
  '1.1.0': { interface: ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID'], ip: ['address', 'gateway', 'interface'], route: ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope'] },
};

/** Before 1.0.0, an ip says its family in `version`. */
function isLegacy(version: CniVersion): boolean {
  return compareVersions(version, '1.0.0') < 0;
}

/**
 * `result` as printed for `version`: only that version's fields (1.0.0 drops the 1.1.0 interface and route
 * fields; 0.3.1 and 0.4.0 also give each ip its `version` from the address), and `cniVersion` set to `version`.
 */
export function resultFor(result: CniResult, version: CniVersion): VersionedResult {
  const schema = SCHEMAS[version];
  const out: VersionedResult = { cniVersion: version };
  if (result.interfaces !== undefined) out.interfaces = result.interfaces.map((entry) => pick(entry, schema.interface));
  if (result.ips !== undefined) out.ips = result.ips.map((entry) => ipFor(entry, schema, isLegacy(version)));
  if (result.routes !== undefined) out.routes = result.routes.map((entry) => pick(entry, schema.route));
  if (result.dns !== undefined) out.dns = pick(result.dns, DNS_KEYS);
  return out;
}

function ipFor(entry: CniIpConfig, schema: Schema, legacy: boolean): VersionedIpConfig {
  const fields = pick(
    entry,
    schema.ip.filter((key) => key !== 'version'),
  );
  if (!legacy) return fields;
  // An address that is not a CIDR gets no version: resultProblems then reports the address itself.
  const family = typeof entry.address === 'string' ? cidrFamily(entry.address) : undefined;
  return family === undefined ? fields : { version: family === 4 ? '4' : '6', ...fields };
}

/** The `keys` of `source` that are set, in the order of `keys`; lists are copied so that the output shares none with the input. */
function pick<T extends object>(source: T, keys: readonly string[]): T {
  const fields = source as Record<string, unknown>;
  const entries = keys.flatMap((key) => {
    const value = fields[key];
    if (value === undefined) return [];
    return [[key, Array.isArray(value) ? [...(value as unknown[])] : value] as const];
  });
  return Object.fromEntries(entries) as T;
}

/**
 * A prevResult written in `fromVersion` (a runtime sends it in the config's version) in the 1.x form handlers
 * work with: ips lose `version`. Its own `cniVersion` is ignored, as the reference library reads a prevResult in
 * the config's version. Throws a CniError with code 7 when it is not a valid result of that version.
 */
export function upconvertPrevResult(prevResult: unknown, fromVersion: CniVersion): CniResult {
  if (!isJsonObject(prevResult)) throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, 'invalid network config', `prevResult must be an object, got ${show(prevResult)}`);
  const problems = resultProblems({ ...prevResult, cniVersion: fromVersion }, fromVersion);
  if (problems.length > 0) throw new CniError(CNI_ERROR_CODES.INVALID_NETWORK_CONFIG, 'invalid network config', `prevResult: ${summarize(problems)}`);
  // Valid in its version, so its fields are a subset of 1.1.0's once `version` is gone: reshaping keeps them all.
  const { cniVersion: _, ...shape } = resultFor(prevResult, NEWEST_VERSION);
  return shape;
}

type FieldCheck = (value: unknown) => string | undefined;

const isString: FieldCheck = (v) => (typeof v === 'string' ? undefined : `must be a string, got ${show(v)}`);
const isNonEmptyString: FieldCheck = (v) => (typeof v === 'string' && v !== '' ? undefined : `must be a non-empty string, got ${show(v)}`);
const isUint: FieldCheck = (v) => (isUint32(v) ? undefined : `must be an unsigned 32-bit integer, got ${show(v)}`);
const isCidr: FieldCheck = (v) => (typeof v === 'string' && cidrFamily(v) !== undefined ? undefined : `must be an IP address with a prefix length (CIDR notation), got ${show(v)}`);
const isIp: FieldCheck = (v) => (typeof v === 'string' && ipFamily(v) !== undefined ? undefined : `must be an IPv4 or IPv6 address, got ${show(v)}`);
const isMac: FieldCheck = (v) => (typeof v === 'string' && /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(v) ? undefined : `must be a hardware address like "0a:58:0a:01:00:05", got ${show(v)}`);
const isIpVersion: FieldCheck = (v) => (v === '4' || v === '6' ? undefined : `must be "4" or "6", got ${show(v)}`);

/** The type of every field of the interface, ip and route structures (a name means the same type in each). */
const FIELD_CHECKS: Readonly<Record<string, FieldCheck>> = {
  name: isNonEmptyString,
  mac: isMac,
  mtu: isUint,
  sandbox: isString,
  socketPath: isString,
  pciID: isString,
  version: isIpVersion,
  address: isCidr,
  gateway: isIp,
  interface: isUint,
  dst: isCidr,
  gw: isIp,
  advmss: isUint,
  priority: isUint,
  table: isUint,
  scope: isUint,
};

/**
 * What is wrong with `json` as a result of spec version `version` ([] when nothing): a JSON object with only the
 * spec's top-level fields, `cniVersion` equal to `version`, interfaces with a name, ips with a CIDR address (and,
 * before 1.0.0, a `version` matching it) whose `interface` indexes `interfaces`, routes with a CIDR `dst`, the DNS
 * structure, every field of its type, and no field the version does not define, at any level.
 */
export function resultProblems(json: unknown, version: string): string[] {
  if (!isSupportedVersion(version)) return [`${show(version)} is not a result version this layer knows (${SUPPORTED_VERSIONS.join(', ')})`];
  if (!isJsonObject(json)) return [`a result must be a JSON object, got ${show(json)}`];
  const schema = SCHEMAS[version];
  const problems = unknownKeyProblems(json, RESULT_KEYS, '');
  if (json.cniVersion !== version) problems.push(`cniVersion must be ${show(version)}, got ${show(json.cniVersion)}`);
  const interfaceCount = Array.isArray(json.interfaces) ? json.interfaces.length : 0;
  if (json.interfaces !== undefined) problems.push(...listProblems(json.interfaces, 'interfaces', (entry, path) => structureProblems(entry, path, schema.interface, ['name'])));
  if (json.ips !== undefined) problems.push(...listProblems(json.ips, 'ips', (entry, path) => ipProblems(entry, path, schema, isLegacy(version), interfaceCount)));
  if (json.routes !== undefined) problems.push(...listProblems(json.routes, 'routes', (entry, path) => structureProblems(entry, path, schema.route, ['dst'])));
  if (json.dns !== undefined) problems.push(...dnsProblems(json.dns, 'dns'), ...(isJsonObject(json.dns) ? unknownKeyProblems(json.dns, DNS_KEYS, 'dns') : []));
  return problems;
}

function listProblems(value: unknown, path: string, each: (entry: unknown, path: string) => string[]): string[] {
  if (!Array.isArray(value)) return [`${path} must be a list, got ${show(value)}`];
  return value.flatMap((entry: unknown, i) => each(entry, `${path}[${i}]`));
}

/** An object with only `allowed` fields, the `required` ones present, each of its type. */
function structureProblems(entry: unknown, path: string, allowed: readonly string[], required: readonly string[]): string[] {
  if (!isJsonObject(entry)) return [`${path} must be an object, got ${show(entry)}`];
  const problems = unknownKeyProblems(entry, allowed, path);
  for (const key of required) if (entry[key] === undefined) problems.push(`${path}.${key} is required`);
  for (const key of allowed) {
    const check = FIELD_CHECKS[key];
    const problem = entry[key] === undefined ? undefined : check?.(entry[key]);
    if (problem !== undefined) problems.push(`${path}.${key} ${problem}`);
  }
  return problems;
}

function ipProblems(entry: unknown, path: string, schema: Schema, legacy: boolean, interfaceCount: number): string[] {
  const problems = structureProblems(entry, path, schema.ip, legacy ? ['version', 'address'] : ['address']);
  if (!isJsonObject(entry)) return problems;
  if (isUint32(entry.interface) && entry.interface >= interfaceCount) problems.push(`${path}.interface ${entry.interface} is not an index into interfaces (${interfaceCount} of them)`);
  const family = typeof entry.address === 'string' ? cidrFamily(entry.address) : undefined;
  if (legacy && family !== undefined && (entry.version === '4' || entry.version === '6') && entry.version !== String(family)) {
    problems.push(`${path}.version is ${show(entry.version)} but the address is IPv${family}`);
  }
  return problems;
}
