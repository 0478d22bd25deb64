// Subpath imports: the whole semver index costs a CLI run ~7 ms more at startup.
import validVersion from 'semver/functions/valid.js';
import { quoteValue } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { PLUGIN_API_VERSION, type DriverManifest, type PluginManifest } from './plugin.js';
import { pluginCheckError } from './plugin-checks.js';
import { isPluginType, type PluginKind } from './plugin-names.js';

const DRIVER_METHODS = ['validateNetworkOptions', 'createNetwork', 'deleteNetwork', 'createEndpoint', 'deleteEndpoint', 'join', 'leave'] as const;
const IPAM_METHODS = ['requestPool', 'releasePool', 'requestAddress', 'releaseAddress', 'releaseOwner'] as const;
const SCOPES = ['local', 'global'];

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The key a manifest registers under: a driver's `type`, an IPAM's `name`. */
export function manifestKey(manifest: PluginManifest): string {
  return manifest.kind === 'driver' ? manifest.type : manifest.name;
}

/** Check `manifest-shape`: every field a manifest must have, all problems in one message. */
export function checkManifestShape(value: unknown, kind: PluginKind, source: string): asserts value is PluginManifest {
  const problems: string[] = [];
  if (!isRecord(value)) {
    problems.push(`it is ${value === null ? 'null' : typeof value}, not an object`);
  } else {
    const key = kind === 'driver' ? 'type' : 'name';
    if (value.kind !== kind) problems.push(`\`kind\` is ${quoteValue(value.kind)}, expected "${kind}"`);
    if (typeof value.apiVersion !== 'number') problems.push('`apiVersion` is not a number');
    if (!isPluginType(value[key])) problems.push(`\`${key}\` ${quoteValue(value[key])} is not a lower-case name`);
    if (typeof value.version !== 'string' || validVersion(value.version) === null) problems.push('`version` is not a semver version');
    if (typeof value.create !== 'function') problems.push('`create` is not a function');
    if (value.description !== undefined && typeof value.description !== 'string') problems.push('`description` is not a string');
    if (kind === 'driver' && !isRecord(value.capability)) problems.push('`capability` is not an object');
  }
  if (problems.length > 0) {
    throw pluginCheckError('manifest-shape', {
      message: `${source} is not a ${kind} manifest: ${problems.join('; ')}`,
      hint: `Export \`${kind === 'driver' ? 'defineDriver' : 'defineIpam'}({...})\` from @switchyard/core as the default export.`,
      details: { problems },
    });
  }
}

/** The api-version check for manifests registered as objects (packages are checked from package.json first). */
export function checkManifestApiVersion(manifest: PluginManifest, source: string): void {
  if (manifest.apiVersion !== PLUGIN_API_VERSION) {
    throw pluginCheckError('api-version', {
      message: `${source} speaks plugin API ${manifest.apiVersion}, this core speaks ${PLUGIN_API_VERSION}`,
      hint: 'Upgrade the plugin or @switchyard/core so that both speak the same plugin API version.',
      details: { pluginApiVersion: manifest.apiVersion, coreApiVersion: PLUGIN_API_VERSION },
    });
  }
}

/** Check `capability`: both scopes are `local` or `global`, and no unknown keys (new ones come with a new API version). */
export function checkCapability(manifest: DriverManifest, source: string): void {
  const cap = manifest.capability as unknown as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of ['dataScope', 'connectivityScope']) {
    if (!SCOPES.includes(cap[key] as string)) problems.push(`\`${key}\` is ${quoteValue(cap[key])}, expected "local" or "global"`);
  }
  if (cap.hostGateway !== undefined && typeof cap.hostGateway !== 'boolean') problems.push(`\`hostGateway\` is ${quoteValue(cap.hostGateway)}, expected a boolean`);
  const ipam = cap.defaultIpam;
  if (ipam !== undefined && (!isRecord(ipam) || !isPluginType(ipam.driver) || (ipam.options !== undefined && !isRecord(ipam.options))))
    problems.push(`\`defaultIpam\` is ${quoteValue(ipam)}, expected { driver: an IPAM name, options?: object }`);
  for (const key of Object.keys(cap)) {
    if (key !== 'dataScope' && key !== 'connectivityScope' && key !== 'hostGateway' && key !== 'defaultIpam') problems.push(`\`${key}\` is not a capability this core knows`);
  }
  if (problems.length > 0) {
    throw pluginCheckError('capability', {
      message: `${source} declares an invalid capability: ${problems.join('; ')}`,
      hint: 'Declare `capability: { dataScope: "local" | "global", connectivityScope: "local" | "global", hostGateway?: boolean, defaultIpam?: { driver, options? } }`.',
      details: { problems },
    });
  }
}

/** What `create` returned must be a whole driver of the manifest's type; caught here, not mid-connect. */
export function checkCreatedInstance(manifest: PluginManifest, instance: unknown, source: string): void {
  const methods: readonly string[] = manifest.kind === 'driver' ? DRIVER_METHODS : IPAM_METHODS;
  const keyName = manifest.kind === 'driver' ? 'type' : 'name';
  const problems: string[] = [];
  if (!isRecord(instance)) {
    problems.push(`create() returned ${instance === null ? 'null' : typeof instance}`);
  } else {
    const missing = methods.filter((m) => typeof instance[m] !== 'function');
    if (missing.length > 0) problems.push(`missing method(s) ${missing.join(', ')}`);
    if (manifest.kind === 'driver' && (typeof instance.attach === 'function') !== (typeof instance.detach === 'function')) problems.push('attach and detach come together: it has only one of them');
    if (instance[keyName] !== manifestKey(manifest)) {
      problems.push(`its \`${keyName}\` is ${quoteValue(instance[keyName])}, the manifest says "${manifestKey(manifest)}"`);
    }
  }
  if (problems.length > 0) {
    throw new SwitchyardError('SWY_ERR_PLUGIN_BAD_SHAPE', `${source}: create() did not return a ${manifest.kind === 'driver' ? 'NetworkDriver' : 'IpamDriver'}: ${problems.join('; ')}`, {
      hint: `Return an object implementing every method of the ${manifest.kind === 'driver' ? 'NetworkDriver' : 'IpamDriver'} contract from create().`,
      details: { check: 'created-instance', problems },
    });
  }
}
