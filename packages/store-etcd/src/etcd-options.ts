import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { SwitchyardError } from '@switchyard/core';
import type { IOptions } from 'etcd3';
import { noop } from 'cockatiel';

/** How to reach etcd and who this host is. Only `endpoints` is required. */
export interface EtcdStoreOptions {
  /** Client URLs of the etcd cluster, e.g. `http://10.0.0.1:2379` (one or several; a comma-separated string is split). */
  endpoints: string | string[];
  /** This host's name in the cluster; default the machine's hostname. */
  hostName?: string;
  /** Key prefix every Switchyard key lives under; default `/switchyard/`. */
  prefix?: string;
  /** TLS, as etcd's own client options: PEM files of the CA, and of a client certificate and key for client-certificate auth. */
  tls?: {
    /** CA bundle that signed etcd's server certificate (`--cacert`). */
    ca: string;
    /** Client certificate (`--cert`), with `key`. */
    cert?: string;
    /** Client key (`--key`), with `cert`. */
    key?: string;
  };
  /** etcd's own user/password authentication. */
  auth?: {
    /** User name. */
    username: string;
    /** Password. */
    password: string;
  };
  /** A call that takes longer fails with SWY_ERR_GLOBAL_STORE_UNAVAILABLE; default 3000 ms. */
  callTimeoutMs?: number;
  /** How long `open` waits for etcd's `/health` to answer before the first call; default 5000 ms. */
  connectTimeoutMs?: number;
  /** Attempts of a transaction that conflicts with other hosts before SWY_ERR_GLOBAL_STORE_CONFLICT; default 50. */
  maxAttempts?: number;
}

/** The options with defaults filled in and the endpoints checked. */
export interface ResolvedEtcdOptions {
  /** Client URLs. */
  endpoints: string[];
  /** This host's name. */
  hostName: string;
  /** Key prefix, ending in `/`. */
  prefix: string;
  /** Per-call deadline. */
  callTimeoutMs: number;
  /** Wait for `/health` at open. */
  connectTimeoutMs: number;
  /** Transaction attempts. */
  maxAttempts: number;
  /** Files, as given. */
  tls?: EtcdStoreOptions['tls'];
  /** As given. */
  auth?: EtcdStoreOptions['auth'];
}

function invalid(message: string, hint: string, details: Record<string, unknown> = {}): SwitchyardError {
  return new SwitchyardError('SWY_ERR_INVALID_OPTION', message, { hint, details });
}

/** Checks and completes the options; SWY_ERR_INVALID_OPTION naming what is wrong. */
export function resolveEtcdOptions(options: EtcdStoreOptions): ResolvedEtcdOptions {
  const list = (Array.isArray(options.endpoints) ? options.endpoints : String(options.endpoints ?? '').split(',')).map((e) => e.trim()).filter((e) => e !== '');
  if (list.length === 0) throw invalid('No etcd endpoint was given', 'Give the etcd client URL, e.g. --etcd http://10.0.0.1:2379.');
  for (const e of list) {
    let url: URL;
    try {
      url = new URL(e);
    } catch {
      throw invalid(`The etcd endpoint ${JSON.stringify(e)} is not a URL`, 'Write it as http://HOST:PORT or https://HOST:PORT.', { endpoint: e });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`The etcd endpoint ${e} is neither http nor https`, 'etcd client URLs start with http:// or https://.', { endpoint: e });
    if (url.protocol === 'https:' && !options.tls) throw invalid(`The etcd endpoint ${e} is https but no CA was given`, 'Give the CA bundle (--etcd-cacert FILE, or tls.ca).', { endpoint: e });
  }
  const hostName = options.hostName ?? hostname();
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(hostName)) throw invalid(`Host name ${JSON.stringify(hostName)} is not a DNS name`, 'Use letters, digits, dots and dashes (at most 63).', { hostName });
  const prefix = options.prefix ?? '/switchyard/';
  if (!prefix.endsWith('/')) throw invalid(`The key prefix ${JSON.stringify(prefix)} does not end in '/'`, "End it in '/', e.g. /switchyard/.");
  if (options.tls && !options.tls.ca) throw invalid('TLS settings for etcd need the CA bundle that checks the server', 'Give --etcd-cacert FILE (tls.ca) with --etcd-cert and --etcd-key.');
  if ((options.tls?.cert === undefined) !== (options.tls?.key === undefined)) throw invalid('A client certificate needs its key (and the key its certificate)', 'Give both --etcd-cert and --etcd-key, or neither.');
  return {
    endpoints: list,
    hostName,
    prefix,
    callTimeoutMs: positive(options.callTimeoutMs, 3000, 'callTimeoutMs'),
    connectTimeoutMs: positive(options.connectTimeoutMs, 5000, 'connectTimeoutMs'),
    maxAttempts: positive(options.maxAttempts, 50, 'maxAttempts'),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.auth ? { auth: options.auth } : {}),
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw invalid(`${name} must be a positive integer, not ${String(value)}`, `Give ${name} as a whole number above 0.`);
  return value;
}

/**
 * The etcd3 client's options. Its fault handling is switched off (no retries, no circuit breaker): the
 * store retries transactions itself, and a breaker opened by one refused call would refuse every call
 * for 5 s after etcd is back.
 */
export function clientOptions(o: ResolvedEtcdOptions): IOptions {
  const read = (file: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw invalid(`Cannot read the TLS file ${file}: ${(e as Error).message}`, 'Give a readable PEM file.', { file });
    }
  };
  return {
    hosts: o.endpoints,
    dialTimeout: o.callTimeoutMs,
    defaultCallOptions: () => ({ deadline: Date.now() + o.callTimeoutMs }),
    faultHandling: { host: () => noop, global: noop },
    ...(o.tls
      ? {
          credentials: {
            rootCertificate: read(o.tls.ca),
            ...(o.tls.key ? { privateKey: read(o.tls.key) } : {}),
            ...(o.tls.cert ? { certChain: read(o.tls.cert) } : {}),
          },
        }
      : {}),
    ...(o.auth ? { auth: o.auth } : {}),
  };
}
