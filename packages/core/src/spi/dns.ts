import type { NetworkRecord } from '../model/types.js';

/** What a DNS responder is doing, for `doctor` and `inspect`. */
export interface DnsStatus {
  /** `running`: a live responder answers; `stopped`: none runs (no network with DNS has an endpoint, or it died). */
  state: 'running' | 'stopped';
  /** Its process id, when running. */
  pid?: number;
  /** The networks it listens for, and on which addresses (`ip:port`), when running. */
  networks: Array<{
    /** The network's name. */
    name: string;
    /** Addresses it listens on for this network, as `ip:port` (`[ip]:port` for IPv6). */
    listening: string[];
  }>;
  /** The upstream servers names that are not local are forwarded to. */
  upstreams: string[];
}

/**
 * The DNS port: a responder per state dir (`@switchyard/dns`) that answers, on the gateway addresses of
 * every network with DNS enabled, the names of the sandboxes on that network (read from the state
 * store, so records need no writes of their own), and forwards other names upstream. The controller
 * asks it to serve a network after a connect to it, and to look again after a disconnect or a network
 * removal; a responder with nothing left to serve exits.
 */
export interface DnsService {
  /**
   * Makes sure a responder answers for these networks: starts one, or tells the running one to look
   * again; resolves once it listens on each network's gateway addresses (so a name resolves as soon as
   * the connect that asked returns). Throws SWY_ERR_DNS_UNAVAILABLE when it cannot.
   */
  serve(networks: readonly NetworkRecord[]): Promise<void>;
  /**
   * Restarts a responder that died while it had networks to serve (its `responder.json` is left behind
   * by a kill); costs a file read when none should run. Called when an instance opens with recovery, so
   * the next Switchyard operation after a crash brings DNS back. Never throws.
   */
  revive(): Promise<void>;
  /** Tells a running responder to look again (networks gone or emptied are dropped; with none left it exits); never throws. */
  refresh(): Promise<void>;
  /** What runs now. */
  status(): Promise<DnsStatus>;
}
