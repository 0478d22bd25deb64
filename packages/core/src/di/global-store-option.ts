import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GlobalStore } from '../spi/global-store.js';
import { SwitchyardError } from '../errors/switchyard-error.js';

/** `createSwitchyard`'s `globalStore` option: a store object, or etcd's options to open `@switchyard/store-etcd` with. */
export type GlobalStoreOption = GlobalStore | EtcdGlobalStoreOption;

/** The `{ etcd }` form of {@link GlobalStoreOption}. */
export interface EtcdGlobalStoreOption {
  /** `EtcdStoreOptions` of `@switchyard/store-etcd`: at least the client URLs; also `hostName`, `tls`, `prefix`… */
  etcd: EtcdConnectOptions;
}

/** The options `openEtcdStore` of `@switchyard/store-etcd` takes (those core names; the rest pass through). */
export interface EtcdConnectOptions extends Record<string, unknown> {
  /** Client URLs of the etcd cluster. */
  endpoints: string | string[];
  /** This host's name in the cluster; default the machine's hostname. */
  hostName?: string;
}

/** The package `{ etcd }` opens, resolved from the embedding application's dependencies. */
export const ETCD_STORE_PACKAGE = '@switchyard/store-etcd';

/**
 * The global store an option names: itself, or `openEtcdStore(etcd)` of `@switchyard/store-etcd`
 * loaded from `appDir`'s dependencies (the application that asks for etcd depends on that package).
 */
export async function openGlobalStoreOption(option: GlobalStoreOption, appDir: string | undefined): Promise<GlobalStore> {
  if (!('etcd' in option)) return option;
  let resolved: string;
  try {
    resolved = createRequire(join(appDir ?? process.cwd(), 'package.json')).resolve(ETCD_STORE_PACKAGE);
  } catch (cause) {
    throw new SwitchyardError('SWY_ERR_GLOBAL_STORE_MISSING', `globalStore.etcd was given but ${ETCD_STORE_PACKAGE} is not installed where the application is`, {
      hint: `Add ${ETCD_STORE_PACKAGE} to the application's dependencies (npm install ${ETCD_STORE_PACKAGE}), or pass a GlobalStore object.`,
      cause,
    });
  }
  const mod = (await import(pathToFileURL(resolved).href)) as { openEtcdStore(o: unknown): Promise<GlobalStore> };
  return mod.openEtcdStore(option.etcd);
}
