// Real etcd (Debian's etcd-server) on loopback inside the lab namespace, data on a tmpfs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GLOBAL_COLLECTIONS, type GlobalChange } from '@switchyard/core';
import { waitUntil } from '@switchyard/core/testing';
import { HostLease, openEtcdStore, startEtcdServer, type EtcdServer, type EtcdStore } from '../index.js';

const dataDir = `/dev/shm/swy-etcd-store-${process.pid}`;
let etcd: EtcdServer;
const opened: EtcdStore[] = [];

async function open(hostName: string, extra: Partial<Parameters<typeof openEtcdStore>[0]> = {}): Promise<EtcdStore> {
  const s = await openEtcdStore({ endpoints: etcd.url, hostName, prefix: `/t${process.pid}/`, ...extra });
  opened.push(s);
  return s;
}

beforeAll(async () => {
  etcd = await startEtcdServer({ address: '127.0.0.1', port: 23790, dataDir });
});

afterAll(async () => {
  for (const s of opened) await s.close();
  await etcd.stop({ wipe: true });
});

describe('EtcdStore', () => {
  it('keeps documents per collection and reads them back', async () => {
    const s = await open('h1');
    await s.transaction(async (tx) => {
      await tx.put('networks', 'web', { name: 'web', vni: 4096 });
      await tx.put('networks', 'db', { name: 'db', vni: 4097 });
      expect(await tx.get('networks', 'web')).toEqual({ name: 'web', vni: 4096 });
    });
    expect(await s.get('networks', 'db')).toEqual({ name: 'db', vni: 4097 });
    expect((await s.list<{ name: string }>('networks')).map((n) => n.name).sort()).toEqual(['db', 'web']);
    await s.transaction(async (tx) => tx.delete('networks', 'db'));
    expect(await s.get('networks', 'db')).toBeUndefined();
    await expect(s.get('networks', '../x')).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_NAME' });
  });

  it('loses no update when two hosts increment one document 100 times each at once', async () => {
    const [a, b] = [await open('h1'), await open('h2')];
    await a.transaction(async (tx) => tx.put('meta', 'counter', { n: 0 }));
    let runs = 0;
    const bump = (s: EtcdStore) =>
      s.transaction(async (tx) => {
        runs++;
        const doc = (await tx.get<{ n: number }>('meta', 'counter'))!;
        await tx.put('meta', 'counter', { n: doc.n + 1 });
      });
    await Promise.all([a, b].flatMap((s) => Array.from({ length: 100 }, () => bump(s))));
    expect(await a.get('meta', 'counter')).toEqual({ n: 200 });
    // The writes did collide and were retried, not serialised by a lock.
    expect(runs).toBeGreaterThan(200);
  });

  it('retries a transaction whose list another host changed before it committed', async () => {
    const [a, b] = [await open('h1'), await open('h2')];
    let runs = 0;
    await a.transaction(async (tx) => {
      runs++;
      const seen = await tx.list<{ vni: number }>('plugin:test.vnis');
      if (runs === 1) await b.transaction(async (t) => t.put('plugin:test.vnis', 'other', { vni: 1 }));
      await tx.put('plugin:test.vnis', 'mine', { vni: seen.length + 1 });
    });
    expect(runs).toBe(2);
    expect(await a.get('plugin:test.vnis', 'mine')).toEqual({ vni: 2 });
  });

  it('serves a key this process wrote from its own commit, and reruns with the new value once another host changed it', async () => {
    const [a, b] = [await open('h1'), await open('h2')];
    await a.transaction(async (tx) => tx.put('meta', 'cached', { v: 1 }));
    await b.transaction(async (tx) => tx.put('meta', 'cached', { v: 2 }));
    const seen: number[] = [];
    await a.transaction(async (tx) => {
      const doc = (await tx.get<{ v: number }>('meta', 'cached'))!;
      seen.push(doc.v);
      await tx.put('meta', 'cached', { v: doc.v * 10 });
    });
    // The first run saw a's own (stale) write, its commit failed, the rerun read b's.
    expect(seen).toEqual([1, 2]);
    expect(await b.get('meta', 'cached')).toEqual({ v: 20 });
    // A read-only transaction with a stale cached value is confirmed before it returns, and reruns too.
    await b.transaction(async (tx) => tx.put('meta', 'cached', { v: 3 }));
    const read: number[] = [];
    await a.transaction(async (tx) => void read.push((await tx.get<{ v: number }>('meta', 'cached'))!.v));
    expect(read).toEqual([20, 3]);
  });

  it('refuses a leased write while the host has no lease, writing nothing', async () => {
    const s = await open('nolease');
    await expect(
      s.transaction(async (tx) => {
        await tx.put('plugin:test.x', 'plain', { a: 1 });
        await tx.putLeased('plugin:test.x', 'leased', { a: 2 });
      }),
    ).rejects.toMatchObject({ code: 'SWY_ERR_HOST_NOT_JOINED' });
    expect(await s.get('plugin:test.x', 'plain')).toBeUndefined();
  });

  it("deletes a host's leased documents when its lease expires, and a restarted agent takes them over", async () => {
    const s = await open('h3');
    const first = new HostLease(s, '10.9.0.3', 2);
    const rec = await first.start();
    expect(await s.host()).toEqual(rec);
    await s.transaction(async (tx) => tx.putLeased('endpoints', 'ep1', { id: 'ep1' }));
    // An agent restart: a new lease takes over before the old one expires.
    await first.stop();
    const second = new HostLease(s, '10.9.0.3', 2);
    const rec2 = await second.start();
    expect(rec2.leaseId).not.toBe(rec.leaseId);
    await new Promise((r) => setTimeout(r, 3000)); // past the first lease's TTL
    expect(await s.get('endpoints', 'ep1')).toEqual({ id: 'ep1' });
    // Kept alive meanwhile; once renewals stop, etcd deletes the host and its documents.
    await second.stop();
    await waitUntil(async () => (await s.get('endpoints', 'ep1')) === undefined, 'leased endpoint to expire');
    expect(await s.host()).toBeUndefined();
  });

  it('reports puts and deletes to a watch, including lease expiry', async () => {
    const s = await open('h4');
    const changes: GlobalChange[] = [];
    let resyncs = 0;
    const stop = await s.watch('endpoints', { change: (c) => changes.push(c), resync: () => resyncs++ });
    await waitUntil(() => resyncs === 1, 'first resync');
    const lease = new HostLease(s, '10.9.0.4', 1);
    await lease.start();
    await s.transaction(async (tx) => tx.putLeased(GLOBAL_COLLECTIONS.endpoints, 'ep4', { id: 'ep4' }));
    await waitUntil(() => changes.some((c) => c.type === 'put' && c.id === 'ep4'), 'put event');
    await lease.stop({ revoke: true });
    await waitUntil(() => changes.some((c) => c.type === 'delete' && c.id === 'ep4'), 'delete event');
    expect(changes.filter((c) => c.id === 'ep4').map((c) => c.type)).toEqual(['put', 'delete']);
    await stop();
  });
});

describe('EtcdStore when etcd is away', () => {
  it('fails with SWY_ERR_GLOBAL_STORE_UNAVAILABLE, promptly, and works again once etcd is back', async () => {
    const s = await open('h5', { callTimeoutMs: 1000 });
    await s.transaction(async (tx) => tx.put('meta', 'before', { ok: true }));
    await etcd.stop({ hard: true });
    const t0 = Date.now();
    await expect(s.transaction(async (tx) => tx.put('meta', 'during', { ok: true }))).rejects.toMatchObject({ code: 'SWY_ERR_GLOBAL_STORE_UNAVAILABLE' });
    expect(Date.now() - t0).toBeLessThan(5000);
    const late = await openEtcdStore({ endpoints: etcd.url, connectTimeoutMs: 300, hostName: 'late' });
    await expect(late.get('meta', 'before')).rejects.toMatchObject({ code: 'SWY_ERR_GLOBAL_STORE_UNAVAILABLE' });
    await late.close();
    etcd = await startEtcdServer({ address: '127.0.0.1', port: 23790, dataDir: `${dataDir}-2` });
    await waitUntil(
      async () =>
        s
          .transaction(async (tx) => tx.put('meta', 'after', { ok: true }))
          .then(
            () => true,
            () => false,
          ),
      'store to work again',
    );
    expect(await s.get('meta', 'after')).toEqual({ ok: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('EtcdStore over TLS with a client certificate', () => {
  it('talks to an etcd that requires client certificates, and is refused without one', async () => {
    const dir = mkdtempSync('/dev/shm/swy-etcd-tls-');
    const sh = (script: string) => execFileSync('bash', ['-c', script], { cwd: dir, stdio: 'pipe' });
    sh(`set -e
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=lab-ca 2>/dev/null
      for n in server client; do
        openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth,clientAuth\\n' > $n.ext
        openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 1 -extfile $n.ext 2>/dev/null
      done`);
    const tlsData = join(dir, 'data');
    const child = (await import('node:child_process')).spawn(
      'etcd',
      [
        '--data-dir',
        tlsData,
        '--listen-client-urls',
        'https://127.0.0.1:23800',
        '--advertise-client-urls',
        'https://127.0.0.1:23800',
        '--listen-peer-urls',
        'http://127.0.0.1:23801',
        '--initial-advertise-peer-urls',
        'http://127.0.0.1:23801',
        '--initial-cluster',
        'default=http://127.0.0.1:23801',
        '--cert-file',
        join(dir, 'server.pem'),
        '--key-file',
        join(dir, 'server.key'),
        '--client-cert-auth',
        '--trusted-ca-file',
        join(dir, 'ca.pem'),
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    try {
      const tls = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
      const s = await open('tls1', { endpoints: 'https://127.0.0.1:23800', tls, connectTimeoutMs: 15000 });
      await s.transaction(async (tx) => tx.put('meta', 'tls', { ok: true }));
      expect(await s.get('meta', 'tls')).toEqual({ ok: true });
      const anonymous = await open('tls2', { endpoints: 'https://127.0.0.1:23800', tls: { ca: tls.ca }, connectTimeoutMs: 1000 });
      const refused = await anonymous.get('meta', 'tls').catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'SWY_ERR_GLOBAL_STORE_UNAVAILABLE' });
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
