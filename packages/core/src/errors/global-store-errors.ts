import type { GlobalStore } from '../spi/global-store.js';
import { SwitchyardError } from './switchyard-error.js';

/** SWY_ERR_HOST_NOT_JOINED: no agent holds this host's lease in the global store. */
export function hostNotJoined(host: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_HOST_NOT_JOINED', `Host ${host} holds no lease in the global store`, {
    hint: 'Start `switchyard agent` on this host (it registers the host and keeps its lease), then try again.',
    details: { host },
  });
}

/** The instance's global store, or SWY_ERR_GLOBAL_STORE_MISSING naming `what` needs it (e.g. "Overlay networks"). */
export function requireGlobalStore(store: GlobalStore | undefined, what: string): GlobalStore {
  if (store) return store;
  throw new SwitchyardError('SWY_ERR_GLOBAL_STORE_MISSING', `${what} span hosts and need the cluster's global store, which this Switchyard instance has not got`, {
    hint: 'Give the etcd URL (switchyard --etcd http://HOST:2379 …, or the globalStore option of createSwitchyard) and run `switchyard agent` on every host.',
  });
}
