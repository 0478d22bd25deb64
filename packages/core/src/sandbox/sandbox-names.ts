import { quoteValue } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { assertNetnsPath, parseIpAddress } from '../kernel/names.js';
import type { SandboxSpec } from '../model/types.js';

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, 1-63 characters
// each, 253 in all. They go into the sandbox's hosts and resolv.conf files, one entry a line, so
// anything else (a newline above all) could write entries of its own.
const LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const RESOLVER_OPTION = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,63}$/;

/** True when `name` is an RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens, 1–63 characters each, 253 in all. */
export function isHostName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

/** Throws SWY_ERR_INVALID_NAME unless `name` is an RFC 1123 host name. */
export function assertHostName(what: string, name: unknown): asserts name is string {
  if (!isHostName(name)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `${what} ${quoteValue(name)} is not a valid host name`, {
      hint: 'Use dot-separated labels of letters, digits and "-" (not at either end), each 1-63 characters, 253 in all (RFC 1123).',
    });
  }
}

/** The hostname a sandbox gets when none is asked for: its name when that is a host name, else its short id (as Docker does). */
export function defaultHostName(name: string, id: string): string {
  return isHostName(name) ? name : id.slice(0, 12);
}

/**
 * Checks everything of a sandbox spec that ends up in a file: its hosts and resolv.conf lines, and the
 * namespace file it adopts (`netnsPath`, or `/proc/<pid>/ns/net`), which is looked at before anything else.
 */
export function assertSandboxFileInputs(spec: Pick<SandboxSpec, 'hostname' | 'dns' | 'extraHosts' | 'netnsPath' | 'pid'>): void {
  if (spec.hostname !== undefined) assertHostName('Hostname', spec.hostname);
  for (const ns of listOf(spec.dns?.nameservers, 'dns.nameservers')) parseIpAddress(ns, 'DNS server');
  for (const domain of listOf(spec.dns?.search, 'dns.search')) assertHostName('DNS search domain', domain);
  for (const option of listOf(spec.dns?.options, 'dns.options')) {
    if (typeof option !== 'string' || !RESOLVER_OPTION.test(option)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `DNS option ${quoteValue(option)} is not valid`, {
        hint: 'Give resolv.conf options such as "ndots:2" or "edns0": letters, digits, "_", ".", ":" and "-".',
      });
    }
  }
  for (const h of listOf(spec.extraHosts, 'extraHosts') as Array<Partial<Record<'name' | 'address', unknown>> | null>) {
    assertHostName('Extra host name', h?.name);
    parseIpAddress(h?.address, `address of extra host ${h?.name}`);
  }
  if (spec.netnsPath !== undefined) assertNetnsPath(spec.netnsPath);
  if (spec.pid !== undefined && !(Number.isSafeInteger(spec.pid) && spec.pid > 0)) {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `pid ${quoteValue(spec.pid)} is not a process id`, { hint: 'Give the positive integer id of a running process, e.g. pid: 4242.' });
  }
}

function listOf(value: unknown, what: string): unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `${what} must be a list, not ${quoteValue(value)}`, { hint: `Give ${what} as a list, e.g. ["10.0.0.53"] for nameservers or [{ name, address }] for extraHosts.` });
}
