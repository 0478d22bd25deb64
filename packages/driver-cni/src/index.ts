/**
 * The `cni` network driver: runs any CNI plugin or configuration list (ADD, DEL, CHECK, GC) behind
 * the CNM API, with the semantics a runtime gets from libcni (result cache, version negotiation,
 * `prevResult` chaining). The default export is the driver manifest with the default CNI path;
 * {@link createCniDriverManifest} builds one with settings of your own.
 *
 * @module \@switchyard/driver-cni
 */
import { join } from 'node:path';
import { defineDriver, type DriverManifest } from '@switchyard/core';
import { CNI_DRIVER_TYPE, CniDriver, type CniDriverSettings } from './cni-driver.js';
import { spawnPlugin } from './exec.js';

export { CniDriver, CNI_DRIVER_TYPE, DEFAULT_CNI_PATH, type CniDriverSettings, type CniNetworkOptions } from './cni-driver.js';
export { CniRuntime, type RuntimeConf, type GcAttachment } from './runtime.js';
export { ResultCache, type CacheEntry } from './cache.js';
export { parseConf, loadConfFile, pluginStdin, declares, type ConfList, type PluginConf } from './config.js';
export { negotiateVersion, compareVersions, SPOKEN_VERSIONS, type PluginVersions } from './versions.js';
export { attachmentFacts, type AttachmentFacts } from './result.js';
export { spawnPlugin, findPlugin, splitPath, type PluginRunner, type PluginOutput } from './exec.js';
export { pluginError, type CniCommand } from './errors.js';

/** The cni driver with settings of its own (CNI path, cache directory, a plugin runner for tests). */
export function createCniDriverManifest(settings: CniDriverSettings = {}, type = CNI_DRIVER_TYPE): DriverManifest {
  return defineDriver({
    apiVersion: 1,
    type,
    version: '0.1.0',
    description: 'any CNI plugin or configuration list as a network (ADD/DEL/CHECK/GC, libcni semantics)',
    capability: { dataScope: 'local', connectivityScope: 'local' },
    create: (deps) => new CniDriver(deps.kernel, { ...settings, cacheDir: settings.cacheDir ?? join(deps.stateDir, 'cni'), run: settings.run ?? spawnPlugin }, type),
  });
}

/** The cni driver with the default CNI path (`/opt/cni/bin:/usr/lib/cni`), caching results under its state dir. */
const cniDriver = createCniDriverManifest();
export default cniDriver;
