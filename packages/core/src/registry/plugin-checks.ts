import type { ErrorCode } from '../errors/codes.js';
import { SwitchyardError } from '../errors/switchyard-error.js';

/**
 * The named checks a plugin package passes when it is loaded by name, in the order they run.
 * Every check before `entry-imports` reads only package.json, so a refused plugin's code never runs.
 * `type-free` is run by the registry (the loader alone does not know what is registered).
 *
 * Each entry has a `name` (the {@link PluginCheckName}), the error `code` a failure raises, `runBy`
 * (`loader` or `registry`: which component performs the check) and a one-sentence `summary` of
 * what passing it means.
 */
export const PLUGIN_CHECKS = Object.freeze([
  { name: 'package-resolves', code: 'SWY_ERR_PLUGIN_NOT_FOUND', runBy: 'loader', summary: "The package resolves from the application directory, then from the plugin directory's own node_modules." },
  { name: 'location-trusted', code: 'SWY_ERR_PLUGIN_UNTRUSTED', runBy: 'loader', summary: 'Its package.json and every directory up to / are owned by root or this user and not writable by everyone (sticky ones excepted).' },
  { name: 'switchyard-field', code: 'SWY_ERR_PLUGIN_NOT_SWITCHYARD', runBy: 'loader', summary: 'package.json has a `switchyard` object with `kind`, `type` and `apiVersion`.' },
  { name: 'kind-matches', code: 'SWY_ERR_PLUGIN_KIND_MISMATCH', runBy: 'loader', summary: '`switchyard.kind` is what was asked for (`driver` or `ipam`).' },
  { name: 'api-version', code: 'SWY_ERR_DRIVER_API_MISMATCH', runBy: 'loader', summary: '`switchyard.apiVersion` equals the plugin API version this core speaks.' },
  { name: 'core-peer', code: 'SWY_ERR_PLUGIN_CORE_MISMATCH', runBy: 'loader', summary: '`peerDependencies["@switchyard/core"]` is present and this core\'s version satisfies it.' },
  { name: 'type-free', code: 'SWY_ERR_DRIVER_TYPE_COLLISION', runBy: 'registry', summary: 'No other driver or plugin already holds the type.' },
  { name: 'entry-imports', code: 'SWY_ERR_PLUGIN_LOAD_FAILED', runBy: 'loader', summary: 'The entry point (`exports` or `main`) exists and imports without throwing.' },
  { name: 'manifest-shape', code: 'SWY_ERR_PLUGIN_BAD_SHAPE', runBy: 'loader', summary: 'The default export is a manifest: kind, apiVersion, type or name, version, create() and (drivers) capability.' },
  { name: 'manifest-matches-package', code: 'SWY_ERR_PLUGIN_BAD_SHAPE', runBy: 'loader', summary: "The manifest's type and apiVersion equal the ones package.json declares." },
  { name: 'capability', code: 'SWY_ERR_DRIVER_CAPABILITY', runBy: 'loader', summary: "A driver's capability scopes are `local` or `global`, and nothing else." },
] as const satisfies ReadonlyArray<{ name: string; code: ErrorCode; runBy: 'loader' | 'registry'; summary: string }>);

/** The name of one of the {@link PLUGIN_CHECKS}, e.g. `location-trusted`. */
export type PluginCheckName = (typeof PLUGIN_CHECKS)[number]['name'];

/** What a failed check reports; {@link pluginCheckError} turns it into a {@link SwitchyardError}. */
export interface CheckFailure {
  /** What went wrong, one sentence naming the plugin. */
  message: string;
  /** What the user can do about it. */
  hint: string;
  /** Extra machine-readable facts, merged into the error's `details` (next to `check`). */
  details?: Record<string, unknown>;
  /** The underlying error, if any (e.g. the import failure). */
  cause?: unknown;
}

/** The error a failed check raises: the check's own code, and `details.check` naming it. */
export function pluginCheckError(check: PluginCheckName, failure: CheckFailure): SwitchyardError {
  const entry = PLUGIN_CHECKS.find((c) => c.name === check);
  // The table is a literal and `check` is typed against it, so the lookup always succeeds.
  const code: ErrorCode = entry ? entry.code : 'SWY_ERR_PLUGIN_BAD_SHAPE';
  return new SwitchyardError(code, failure.message, {
    hint: failure.hint,
    cause: failure.cause,
    details: { check, ...failure.details },
  });
}
