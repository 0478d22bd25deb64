import { familyOf, isObjectName, SwitchyardError, type IpamRangeConfig, type IpamSpec, type Json, type JsonObject, type NetworkSpec } from '@switchyard/core';

/** CNI/rkt `type` -> Switchyard driver type. Other types pass through unchanged (plugin drivers). */
export const CNI_TYPE_TO_DRIVER: Readonly<Record<string, string>> = Object.freeze({
  ptp: 'veth',
  veth: 'veth',
  bridge: 'bridge',
  macvlan: 'macvlan',
  ipvlan: 'ipvlan',
});

/**
 * Per built-in driver: CNI key -> Switchyard driver option. Keys not listed are refused, so a
 * setting we would silently ignore never looks accepted. Plugin types get every key as is.
 */
export const CNI_OPTION_NAMES: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  bridge: { bridge: 'bridge', isGateway: 'isGateway', isDefaultGateway: 'isDefaultGateway', ipMasq: 'ipMasq', mtu: 'mtu', hairpinMode: 'hairpinMode', promiscMode: 'promiscMode', isolate: 'isolate' },
  veth: { ipMasq: 'ipMasq', mtu: 'mtu', defaultRoute: 'defaultRoute' },
  macvlan: { master: 'master', mode: 'mode', mtu: 'mtu', hostShim: 'hostShim', shimAddress: 'shimAddress', shimAddress6: 'shimAddress6' },
  ipvlan: { master: 'master', mode: 'mode', mtu: 'mtu', flag: 'flag' },
});

/** Per built-in driver: the option that says "give the sandbox a default route", derived from `ipam.routes` when absent. */
const DEFAULT_ROUTE_OPTION: Readonly<Record<string, string>> = { bridge: 'isDefaultGateway', veth: 'defaultRoute' };

/** Top-level keys every conf may carry that mean nothing here. */
const IGNORED_KEYS = new Set(['cniVersion']);
const IPAM_KEYS = ['type', 'subnet', 'rangeStart', 'rangeEnd', 'gateway', 'ranges', 'routes'];
const RANGE_KEYS = ['subnet', 'rangeStart', 'rangeEnd', 'gateway'];

/** The label that records which file a network was created from. */
export const NETD_FILE_LABEL = 'switchyard.netd.file';

/** SWY_ERR_CONFIG_INVALID naming the file and, when there is one, the field. */
export function configError(file: string, field: string | undefined, problem: string, hint?: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_CONFIG_INVALID', `${file}: ${field ? `field "${field}" ` : ''}${problem}`, {
    hint: hint ?? 'Fix the file (rkt/CNI network format: {"name", "type", "ipam": {"type": "host-local", "subnet"…}}) or move it out of the net dir.',
    details: { file, ...(field ? { field } : {}) },
  });
}

/** Parses one conf file's text into a NetworkSpec. */
export function parseNetConf(file: string, text: string): NetworkSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw configError(file, undefined, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return translateNetConf(file, raw);
}

/** Translates an rkt/CNI network conf object into a NetworkSpec; every problem names the field. */
export function translateNetConf(file: string, raw: unknown): NetworkSpec {
  if (!isObject(raw)) throw configError(file, undefined, 'must hold one JSON object');
  if ('plugins' in raw) throw configError(file, 'plugins', 'is a CNI conflist; Switchyard reads one network per file', 'Split it: one {"name", "type", "ipam"} object per file.');
  const name = raw.name;
  if (!isObjectName(name)) {
    throw configError(file, 'name', `must be a network name (1-63 letters, digits, "_", "." or "-", no ".."), not ${JSON.stringify(name ?? null)}`);
  }
  const type = raw.type;
  if (typeof type !== 'string' || type === '') throw configError(file, 'type', `must name a network type (ptp, veth, bridge, macvlan, ipvlan or a plugin's type), not ${JSON.stringify(type ?? null)}`);
  const driver = CNI_TYPE_TO_DRIVER[type] ?? type;

  const ipam = translateIpam(file, raw.ipam);
  const options = translateOptions(file, driver, raw, ipam.defaultRoute);
  const spec: NetworkSpec = { name, driver, ipam: ipam.spec, options, labels: { [NETD_FILE_LABEL]: file } };
  if (ipam.spec.ipv6 && ipam.spec.ipv6.length > 0) spec.ipv6 = true;
  if (ipam.spec.ipv6 && !ipam.spec.ipv4) spec.ipv4 = false;
  return spec;
}

function translateOptions(file: string, driver: string, raw: Record<string, unknown>, routesWantDefault: boolean | undefined): JsonObject {
  const names = CNI_OPTION_NAMES[driver];
  const options: JsonObject = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'name' || key === 'type' || key === 'ipam' || IGNORED_KEYS.has(key)) continue;
    if (names === undefined) {
      options[key] = value as Json;
      continue;
    }
    const ours = names[key];
    if (ours === undefined) {
      throw configError(file, key, `is not supported by the ${driver} driver`, `Supported keys for type ${driver}: ${Object.keys(names).join(', ')} (plus name, type, ipam, cniVersion).`);
    }
    options[ours] = value as Json;
  }
  const routeOption = DEFAULT_ROUTE_OPTION[driver];
  // CNI semantics: no default route unless the conf asks (rkt's default-restricted is ptp without routes).
  if (routeOption && !(routeOption in options)) options[routeOption] = routesWantDefault === true;
  // CNI bridge: isGateway defaults to false, and isDefaultGateway turns it on.
  if (driver === 'bridge' && !('isGateway' in options)) options.isGateway = options.isDefaultGateway === true;
  return options;
}

interface IpamResult {
  spec: IpamSpec;
  /** Whether ipam.routes asked for a default route; undefined when there is no ipam. */
  defaultRoute: boolean | undefined;
}

function translateIpam(file: string, raw: unknown): IpamResult {
  if (raw === undefined) return { spec: {}, defaultRoute: undefined };
  if (!isObject(raw)) throw configError(file, 'ipam', 'must be an object like {"type": "host-local", "subnet": "10.1.0.0/24"}');
  for (const key of Object.keys(raw)) {
    if (!IPAM_KEYS.includes(key)) throw configError(file, `ipam.${key}`, 'is not supported', `Supported ipam keys: ${IPAM_KEYS.join(', ')}.`);
  }
  const type = raw.type ?? 'host-local';
  if (typeof type !== 'string' || type === '') throw configError(file, 'ipam.type', 'must name an IPAM driver such as host-local');
  const spec: IpamSpec = { driver: type };

  const sets: IpamRangeConfig[][] = [];
  if (raw.ranges !== undefined) {
    if (raw.subnet !== undefined) throw configError(file, 'ipam.subnet', 'cannot be combined with ipam.ranges', 'Move the subnet into ranges, or drop ranges.');
    if (!Array.isArray(raw.ranges)) throw configError(file, 'ipam.ranges', 'must be a list of range sets (lists of {"subnet", "rangeStart", "rangeEnd", "gateway"})');
    raw.ranges.forEach((set, i) => {
      if (!Array.isArray(set) || set.length === 0) throw configError(file, `ipam.ranges[${i}]`, 'must be a non-empty list of ranges');
      sets.push(set.map((r, j) => translateRange(file, `ipam.ranges[${i}][${j}]`, r)));
    });
  } else if (raw.subnet !== undefined) {
    sets.push([translateRange(file, 'ipam', { subnet: raw.subnet, rangeStart: raw.rangeStart, rangeEnd: raw.rangeEnd, gateway: raw.gateway })]);
  } else {
    for (const k of ['rangeStart', 'rangeEnd', 'gateway']) if (raw[k] !== undefined) throw configError(file, `ipam.${k}`, 'needs ipam.subnet beside it');
  }
  sets.forEach((set, i) => {
    const family = familyOf(set[0]?.subnet ?? '');
    const where = raw.ranges === undefined ? 'ipam.subnet' : `ipam.ranges[${i}]`;
    if (set.some((r) => familyOf(r.subnet ?? '') !== family)) throw configError(file, where, 'mixes IPv4 and IPv6 ranges in one set', 'Put IPv4 and IPv6 ranges in separate sets.');
    const key = family === 6 ? 'ipv6' : 'ipv4';
    if (spec[key]) throw configError(file, where, `is a second IPv${family} range set; Switchyard takes one set per family`, 'Put all ranges of one family in one set.');
    spec[key] = set;
  });
  return { spec, defaultRoute: raw.routes === undefined ? undefined : readRoutes(file, raw.routes) };
}

function translateRange(file: string, field: string, raw: unknown): IpamRangeConfig {
  if (!isObject(raw)) throw configError(file, field, 'must be an object like {"subnet": "10.1.0.0/24"}');
  const prefix = field === 'ipam' ? 'ipam' : field;
  for (const key of Object.keys(raw)) {
    if (raw[key] !== undefined && !RANGE_KEYS.includes(key)) throw configError(file, `${prefix}.${key}`, 'is not supported', `A range has ${RANGE_KEYS.join(', ')}.`);
  }
  const subnet = raw.subnet;
  if (typeof subnet !== 'string' || !subnet.includes('/') || familyOf(subnet) === undefined) {
    throw configError(file, `${prefix}.subnet`, `must be a CIDR such as 10.1.0.0/24, not ${JSON.stringify(subnet ?? null)}`);
  }
  const range: IpamRangeConfig = { subnet };
  for (const key of ['rangeStart', 'rangeEnd', 'gateway'] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.includes('/') || familyOf(v) !== familyOf(subnet)) {
      throw configError(file, `${prefix}.${key}`, `must be an IPv${familyOf(subnet)} address without prefix, not ${JSON.stringify(v)}`);
    }
    range[key] = v;
  }
  return range;
}

/** Only default routes are understood; they turn on the driver's default-route option. */
function readRoutes(file: string, raw: unknown): boolean {
  if (!Array.isArray(raw)) throw configError(file, 'ipam.routes', 'must be a list like [{"dst": "0.0.0.0/0"}]');
  let wantsDefault = false;
  raw.forEach((r, i) => {
    const dst = isObject(r) ? r.dst : undefined;
    if (dst === '0.0.0.0/0' || dst === '::/0') wantsDefault = true;
    else throw configError(file, `ipam.routes[${i}].dst`, `is ${JSON.stringify(dst ?? null)}; only default routes (0.0.0.0/0, ::/0) are supported`, 'Drop the route, or route through the gateway from inside the sandbox.');
  });
  return wantsDefault;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
