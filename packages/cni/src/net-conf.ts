import { familyOf, isObjectName, SwitchyardError, type IpamRangeConfig, type IpamSpec, type Json, type JsonObject, type NetworkSpec } from '@switchyard/core';

/** The driver that runs any CNI plugin or conflist as a network (`@switchyard/driver-cni`). */
export const CNI_DRIVER = 'cni';

/** CNI/rkt `type` -> Switchyard driver type. Other types run through driver-cni, as the CNI plugins they name. */
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
  bridge: { bridge: 'bridge', isGateway: 'isGateway', isDefaultGateway: 'isDefaultGateway', ipMasq: 'ipMasq', mtu: 'mtu', hairpinMode: 'hairpinMode', promiscMode: 'promiscMode', isolate: 'isolate', macspoofchk: 'antiSpoof' },
  veth: { ipMasq: 'ipMasq', mtu: 'mtu', defaultRoute: 'defaultRoute' },
  macvlan: { master: 'master', mode: 'mode', mtu: 'mtu', hostShim: 'hostShim', shimAddress: 'shimAddress', shimAddress6: 'shimAddress6' },
  ipvlan: { master: 'master', mode: 'mode', mtu: 'mtu', flag: 'flag' },
});

/** Per built-in driver: the option that says "give the sandbox a default route", derived from `ipam.routes` when absent. */
const DEFAULT_ROUTE_OPTION: Readonly<Record<string, string>> = { bridge: 'isDefaultGateway', veth: 'defaultRoute' };

/** Top-level keys any CNI config may carry that need nothing here: versions, and what a runtime reads (capabilities are always on). */
const IGNORED_KEYS = new Set(['cniVersion', 'cniVersions', 'capabilities', 'disableCheck', 'disableGC']);

/** Standard keys Switchyard does not apply to a network: accepted, with a warning saying what happens instead. */
const WARNED_KEYS: Readonly<Record<string, string>> = {
  dns: 'sandboxes get their resolv.conf from `sandbox create --dns` (or the host), not from the network',
  runtimeConfig: 'runtime arguments come from the command line (-p, --ip, --mac), not from a file',
  args: 'runtime arguments come from the command line (-p, --ip, --mac), not from a file',
  forceAddress: 'the bridge keeps the addresses it has and gets the gateway address beside them',
  enabledad: 'duplicate address detection stays as the kernel default',
};
const IPAM_KEYS = ['type', 'subnet', 'rangeStart', 'rangeEnd', 'gateway', 'ranges', 'routes'];
const IPAM_WARNED_KEYS: Readonly<Record<string, string>> = {
  resolvConf: 'sandboxes get their resolv.conf from `sandbox create --dns` (or the host)',
  dataDir: "Switchyard keeps the network's addresses under its state dir",
};

/** Meta plugins a conflist may chain after a built-in type that Switchyard does natively: what each becomes. */
export const NATIVE_META_PLUGINS: Readonly<Record<string, string>> = {
  portmap: 'published ports (-p) go through the nftables firewall',
  firewall: "the nftables firewall admits the network's traffic",
  tuning: 'nothing to tune',
  bandwidth: 'nothing to shape',
};
/** Keys a native meta plugin may carry and still need nothing from Switchyard. */
const META_PLUGIN_KEYS = new Set(['type', 'capabilities', 'cniVersion', 'backend', 'snat', 'markMasqBit', 'externalSetMarkChain', 'masqAll', 'iptablesAdminChainName', 'firewalldZone', 'ingressPolicy']);
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

/** Parses one conf or conflist file's text into a NetworkSpec; what it accepts but does not apply goes into `warnings`. */
export function parseNetConf(file: string, text: string, warnings: string[] = []): NetworkSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw configError(file, undefined, `is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  return isObject(raw) && 'plugins' in raw ? translateConfList(file, raw, warnings) : translateNetConf(file, raw, warnings);
}

/**
 * A CNI conflist (`{"name", "plugins": [...]}`, as Podman and the runtimes write them). A built-in first
 * plugin followed only by meta plugins Switchyard does natively (portmap, firewall, and tuning or bandwidth
 * with nothing to set) is a native network of that driver; any other list runs through driver-cni, which
 * execs its plugins as libcni does.
 */
export function translateConfList(file: string, raw: Record<string, unknown>, warnings: string[] = []): NetworkSpec {
  const plugins = raw.plugins;
  if (!Array.isArray(plugins) || plugins.length === 0 || !plugins.every(isObject)) throw configError(file, 'plugins', 'must be a non-empty list of plugin configs (objects)');
  const [main, ...rest] = plugins;
  if (!isNativeChain(main, rest)) return cniDriverSpec(file, raw);
  for (const key of Object.keys(raw)) {
    if (!['name', 'plugins', 'cniVersion', 'cniVersions', 'disableCheck', 'disableGC'].includes(key)) warnings.push(`${file}: conflist key "${key}" is not used`);
  }
  rest.forEach((plugin, i) => {
    const settings = Object.keys(plugin).filter((k) => !META_PLUGIN_KEYS.has(k));
    if (settings.length > 0) warnings.push(`${file}: plugins[${i + 1}] (${String(plugin.type)}) settings ${settings.join(', ')} are not used: ${NATIVE_META_PLUGINS[String(plugin.type)]}`);
  });
  return translateNetConf(file, { ...main, name: raw.name }, warnings);
}

/** Translates an rkt/CNI network conf object into a NetworkSpec; every problem names the field, and keys accepted but not applied are named in `warnings`. */
export function translateNetConf(file: string, raw: unknown, warnings: string[] = []): NetworkSpec {
  if (!isObject(raw)) throw configError(file, undefined, 'must hold one JSON object');
  if ('plugins' in raw) throw configError(file, 'plugins', 'is a CNI conflist, not a single plugin config', 'Give it a .conflist name, or split it into one {"name", "type", "ipam"} object per file.');
  const name = raw.name;
  if (!isObjectName(name)) {
    throw configError(file, 'name', `must be a network name (1-63 letters, digits, "_", "." or "-", no ".."), not ${JSON.stringify(name ?? null)}`);
  }
  const type = raw.type;
  if (typeof type !== 'string' || type === '') throw configError(file, 'type', `must name a network type (ptp, veth, bridge, macvlan, ipvlan or a CNI plugin's type), not ${JSON.stringify(type ?? null)}`);
  if (!Object.hasOwn(CNI_TYPE_TO_DRIVER, type)) return cniDriverSpec(file, raw);
  const driver = CNI_TYPE_TO_DRIVER[type] as string;

  const ipam = translateIpam(file, raw.ipam, warnings);
  const options = translateOptions(file, driver, raw, ipam.defaultRoute, warnings);
  const spec: NetworkSpec = { name, driver, ipam: ipam.spec, options, labels: { [NETD_FILE_LABEL]: file } };
  if (ipam.spec.ipv6 && ipam.spec.ipv6.length > 0) spec.ipv6 = true;
  if (ipam.spec.ipv6 && !ipam.spec.ipv4) spec.ipv4 = false;
  return spec;
}

/** Whether a conflist is one Switchyard runs natively: a built-in first plugin, then only meta plugins it does itself. */
function isNativeChain(main: Record<string, unknown> | undefined, rest: Record<string, unknown>[]): boolean {
  if (!main || typeof main.type !== 'string' || !Object.hasOwn(CNI_TYPE_TO_DRIVER, main.type)) return false;
  return rest.every((plugin) => {
    const type = plugin.type;
    if (typeof type !== 'string' || !Object.hasOwn(NATIVE_META_PLUGINS, type)) return false;
    return !((type === 'tuning' || type === 'bandwidth') && Object.keys(plugin).some((k) => !META_PLUGIN_KEYS.has(k)));
  });
}

/**
 * A config or conflist whose plugins Switchyard does not run natively: a driver-cni network that execs
 * those plugins from the CNI path (ADD on connect, DEL on disconnect), the whole file as its config.
 */
function cniDriverSpec(file: string, raw: Record<string, unknown>): NetworkSpec {
  const name = raw.name;
  if (!isObjectName(name)) {
    throw configError(file, 'name', `must be a network name (1-63 letters, digits, "_", "." or "-", no ".."), not ${JSON.stringify(name ?? null)}`);
  }
  // The config as read (not the file's path): what was checked at create is what DEL runs with later.
  return { name, driver: CNI_DRIVER, options: { config: raw as JsonObject }, labels: { [NETD_FILE_LABEL]: file } };
}

function translateOptions(file: string, driver: string, raw: Record<string, unknown>, routesWantDefault: boolean | undefined, warnings: string[]): JsonObject {
  const names = CNI_OPTION_NAMES[driver];
  const options: JsonObject = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'name' || key === 'type' || key === 'ipam' || IGNORED_KEYS.has(key)) continue;
    if (names !== undefined && Object.hasOwn(WARNED_KEYS, key) && !Object.hasOwn(names, key)) {
      warnings.push(`${file}: "${key}" is not applied: ${WARNED_KEYS[key]}`);
      continue;
    }
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

function translateIpam(file: string, raw: unknown, warnings: string[]): IpamResult {
  if (raw === undefined) return { spec: {}, defaultRoute: undefined };
  if (!isObject(raw)) throw configError(file, 'ipam', 'must be an object like {"type": "host-local", "subnet": "10.1.0.0/24"}');
  for (const key of Object.keys(raw)) {
    if (Object.hasOwn(IPAM_WARNED_KEYS, key)) warnings.push(`${file}: "ipam.${key}" is not applied: ${IPAM_WARNED_KEYS[key]}`);
    else if (!IPAM_KEYS.includes(key)) throw configError(file, `ipam.${key}`, 'is not supported', `Supported ipam keys: ${IPAM_KEYS.join(', ')}, and ${Object.keys(IPAM_WARNED_KEYS).join(', ')} (not applied).`);
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
