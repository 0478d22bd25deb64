import { SwitchyardError } from '../errors/switchyard-error.js';
import { parseIpAddress } from '../kernel/names.js';
import type { SandboxSpec } from '../model/types.js';

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens, 1-63 characters
// each, 253 in all. They go into the sandbox's hosts and resolv.conf files, one entry a line, so
// anything else (a newline above all) could write entries of its own.
const LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const RESOLVER_OPTION = /^[a-zA-Z0-9][a-zA-Z0-9_.:-]{0,63}$/;

export function isHostName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

/** Throws SWY_ERR_INVALID_NAME unless `name` is an RFC 1123 host name. */
export function assertHostName(what: string, name: unknown): asserts name is string {
  if (!isHostName(name)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `${what} ${JSON.stringify(name)} is not a valid host name`, {
      hint: 'Use dot-separated labels of letters, digits and "-" (not at either end), each 1-63 characters, 253 in all (RFC 1123).',
    });
  }
}

/** The hostname a sandbox gets when none is asked for: its name when that is a host name, else its short id (as Docker does). */
export function defaultHostName(name: string, id: string): string {
  return isHostName(name) ? name : id.slice(0, 12);
}

/** Checks everything of a sandbox spec that ends up in its hosts or resolv.conf file. */
export function assertSandboxFileInputs(spec: Pick<SandboxSpec, 'hostname' | 'dns' | 'extraHosts'>): void {
  if (spec.hostname !== undefined) assertHostName('Hostname', spec.hostname);
  for (const ns of spec.dns?.nameservers ?? []) parseIpAddress(ns, 'DNS server');
  for (const domain of spec.dns?.search ?? []) assertHostName('DNS search domain', domain);
  for (const option of spec.dns?.options ?? []) {
    if (typeof option !== 'string' || !RESOLVER_OPTION.test(option)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `DNS option ${JSON.stringify(option)} is not valid`, {
        hint: 'Give resolv.conf options such as "ndots:2" or "edns0": letters, digits, "_", ".", ":" and "-".',
      });
    }
  }
  for (const h of spec.extraHosts ?? []) {
    assertHostName('Extra host name', h.name);
    parseIpAddress(h.address, `address of extra host ${h.name}`);
  }
}
