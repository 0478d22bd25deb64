/**
 * Small checks shared by the environment, config and result modules: the spec's name rule, IP addresses and
 * CIDRs, unsigned integers, the DNS structure, and the wording of the problems they report.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A decoded JSON object (or a value that is being checked to be one). */
export type JsonObject = Record<string, unknown>;

/**
 * The spec's rule for CNI_CONTAINERID and a network's `name`: an alphanumeric character, then any of
 * alphanumerics, `_`, `.` and `-`. ASCII only, as the reference library's regexp is.
 */
export const SPEC_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A plain object: not null, not an array. */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An integer in 0..2^32-1: the spec's uint fields (mtu, advmss, priority, table, scope) are 32-bit in every runtime. */
export function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

/** 4 or 6 for a bare IP address, undefined for anything else (a prefix, a zone, a host name, leading zeros). */
export function ipFamily(text: string): 4 | 6 | undefined {
  // Node accepts an IPv6 zone (fe80::1%eth0); a zone names a link, not an address, and CNI results never carry one.
  if (text.includes('%')) return undefined;
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  return undefined;
}

/** 4 or 6 for an address in CIDR notation (host bits may be set: "10.1.0.5/24" is an interface address), else undefined. */
export function cidrFamily(text: string): 4 | 6 | undefined {
  const match = /^([^/]+)\/(0|[1-9][0-9]{0,2})$/.exec(text);
  const address = match?.[1];
  const prefix = match?.[2];
  if (address === undefined || prefix === undefined) return undefined;
  const family = ipFamily(address);
  if (family === undefined) return undefined;
  return Number(prefix) <= (family === 4 ? 32 : 128) ? family : undefined;
}

/** A value quoted for a problem message, cut short so that a hostile megabyte does not end up in an error result. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = typeof value; // a BigInt or a cycle: say what it is
  }
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}

/** Problems of an optional list of strings, each string checked by `each` (which returns a problem or undefined). */
export function stringListProblems(value: unknown, path: string, each?: (item: string) => string | undefined): string[] {
  if (!Array.isArray(value)) return [`${path} must be a list of strings, got ${show(value)}`];
  return value.flatMap((item: unknown, i) => {
    if (typeof item !== 'string') return [`${path}[${i}] must be a string, got ${show(item)}`];
    const problem = each?.(item);
    return problem === undefined ? [] : [`${path}[${i}] ${problem}`];
  });
}

/** Problems joined for an error's details, at most `max` of them, so that a hostile input cannot make a megabyte of details. */
export function summarize(problems: readonly string[], max = 8): string {
  const shown = problems.slice(0, max).join('; ');
  return problems.length > max ? `${shown}; and ${problems.length - max} more` : shown;
}

/** Keys of `object` that are not in `allowed`, as problems. */
export function unknownKeyProblems(object: JsonObject, allowed: readonly string[], path: string): string[] {
  return Object.keys(object)
    .filter((key) => !allowed.includes(key))
    .map((key) => `${path === '' ? '' : `${path}.`}${key} is not a field of this structure`);
}

/** The DNS fields, in the spec's order. */
export const DNS_KEYS = ['nameservers', 'domain', 'search', 'options'] as const;

/**
 * Problems of the spec's well-known DNS structure (in a network config and in a result alike): optional
 * `nameservers` (IPv4 or IPv6 addresses), `domain` (a string), `search` and `options` (lists of strings).
 */
export function dnsProblems(value: unknown, path: string): string[] {
  if (!isJsonObject(value)) return [`${path} must be an object, got ${show(value)}`];
  const problems: string[] = [];
  if (value.nameservers !== undefined) problems.push(...stringListProblems(value.nameservers, `${path}.nameservers`, (s) => (ipFamily(s) === undefined ? `must be an IPv4 or IPv6 address, got ${show(s)}` : undefined)));
  if (value.domain !== undefined && typeof value.domain !== 'string') problems.push(`${path}.domain must be a string, got ${show(value.domain)}`);
  if (value.search !== undefined) problems.push(...stringListProblems(value.search, `${path}.search`));
  if (value.options !== undefined) problems.push(...stringListProblems(value.options, `${path}.options`));
  return problems;
}
