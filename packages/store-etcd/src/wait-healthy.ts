import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { SwitchyardError } from '@switchyard/core';
import type { ResolvedEtcdOptions } from './etcd-options.js';

/** TLS material for the probes (read once per wait). */
type ProbeTls = { ca: Buffer; cert?: Buffer; key?: Buffer } | Record<string, never>;

/** One GET of `<endpoint>/health`: true when etcd answers `"health":"true"`. */
function probe(endpoint: string, tlsFiles: ProbeTls, timeoutMs: number): Promise<boolean> {
  const url = new URL('/health', endpoint);
  const tls = url.protocol === 'https:' ? tlsFiles : {};
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, ...tls }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && /"health"\s*:\s*"true"/.test(body)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Waits until one of the endpoints reports itself healthy, polling every 50 ms, so the first gRPC call
 * goes to a server that answers. SWY_ERR_GLOBAL_STORE_UNAVAILABLE after `connectTimeoutMs`.
 */
export async function waitHealthy(o: ResolvedEtcdOptions): Promise<void> {
  const deadline = Date.now() + o.connectTimeoutMs;
  const tls: ProbeTls = o.tls ? { ca: readFileSync(o.tls.ca), ...(o.tls.cert && o.tls.key ? { cert: readFileSync(o.tls.cert), key: readFileSync(o.tls.key) } : {}) } : {};
  for (;;) {
    const left = deadline - Date.now();
    const answers = await Promise.all(o.endpoints.map((e) => probe(e, tls, Math.max(100, Math.min(1000, left)))));
    if (answers.some(Boolean)) return;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new SwitchyardError('SWY_ERR_GLOBAL_STORE_UNAVAILABLE', `etcd at ${o.endpoints.join(', ')} did not report healthy within ${o.connectTimeoutMs} ms`, {
    hint: 'Check that etcd runs and that its client URL (--etcd) is reachable from this host; `curl URL/health` should say "health":"true".',
    details: { endpoints: o.endpoints },
  });
}
