/** What a plugin package provides. */
export type PluginKind = 'driver' | 'ipam';

/** Driver types and IPAM names: lower case, safe in package names and file names; `@scope/` for scoped packages. */
export const PLUGIN_TYPE_PATTERN = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]{0,62}$/;

/** An npm package name (bare, optionally scoped); anything else could resolve as a relative path. */
const PACKAGE_NAME_PATTERN = /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;

const PREFIX: Record<PluginKind, string> = { driver: 'switchyard-driver-', ipam: 'switchyard-ipam-' };

/**
 * Switchyard's own plugin packages, which keep their `@switchyard/` names: core cannot depend on them
 * (they depend on core), so it loads them by name like any plugin. `host-local` is the default IPAM.
 */
export const FIRST_PARTY_PACKAGES: Readonly<Record<PluginKind, Readonly<Record<string, string>>>> = Object.freeze({
  driver: Object.freeze({ overlay: '@switchyard/driver-overlay', routed: '@switchyard/driver-routed' }),
  ipam: Object.freeze({ 'host-local': '@switchyard/ipam-host-local', global: '@switchyard/ipam-global' }),
});

/** True when `type` is a usable driver type or IPAM name (see {@link PLUGIN_TYPE_PATTERN}). */
export function isPluginType(type: unknown): type is string {
  return typeof type === 'string' && PLUGIN_TYPE_PATTERN.test(type);
}

/** True when `name` is an npm package name (bare or scoped, at most 214 characters), never a path. */
export function isPackageName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= 214 && PACKAGE_NAME_PATTERN.test(name);
}

/**
 * The package that provides a type, by convention: `ptp` -> `switchyard-driver-ptp`,
 * `@acme/ptp` -> `@acme/switchyard-driver-ptp` (IPAM: `switchyard-ipam-<name>`); Switchyard's own
 * packages (`host-local` -> `@switchyard/ipam-host-local`) by their real names.
 */
export function pluginPackageName(kind: PluginKind, type: string): string {
  const firstParty = Object.hasOwn(FIRST_PARTY_PACKAGES[kind], type) ? FIRST_PARTY_PACKAGES[kind][type] : undefined;
  if (firstParty !== undefined) return firstParty;
  const slash = type.startsWith('@') ? type.indexOf('/') : -1;
  return slash < 0 ? PREFIX[kind] + type : `${type.slice(0, slash + 1)}${PREFIX[kind]}${type.slice(slash + 1)}`;
}

/** The inverse of `pluginPackageName`; undefined for names outside the convention. */
export function parsePluginPackageName(name: string):
  | {
      /** What the package provides. */
      kind: PluginKind;
      /** The driver type or IPAM name the package provides. */
      type: string;
    }
  | undefined {
  for (const kind of ['driver', 'ipam'] as const) {
    const firstParty = Object.entries(FIRST_PARTY_PACKAGES[kind]).find(([, pkg]) => pkg === name);
    if (firstParty !== undefined) return { kind, type: firstParty[0] };
  }
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const scope = slash < 0 ? '' : name.slice(0, slash + 1);
  const bare = name.slice(scope.length);
  for (const kind of ['driver', 'ipam'] as const) {
    if (bare.startsWith(PREFIX[kind]) && bare.length > PREFIX[kind].length) {
      return { kind, type: scope + bare.slice(PREFIX[kind].length) };
    }
  }
  return undefined;
}
