import type { Collection, StateStore, StoreTx } from '../../spi/state-store.js';
import { isSwitchyardError, type SwitchyardError } from '../../errors/switchyard-error.js';

interface Net {
  name: string;
  subnet: string;
  labels?: Record<string, string>;
}

async function put<T>(store: StateStore, collection: Collection, id: string, doc: T): Promise<void> {
  await store.transaction((tx) => tx.put(collection, id, doc));
}

async function rejection(p: Promise<unknown>): Promise<SwitchyardError> {
  const outcome = await p.then(
    () => new Error('expected the call to reject, but it resolved'),
    (e: unknown) => e,
  );
  if (!isSwitchyardError(outcome)) throw outcome;
  return outcome;
}

/** Lets other queued async work run, so a missing lock would show as interleaving. */
async function yieldToOthers(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
}

/** The behaviour every StateStore must show; run it with a factory that returns a fresh, empty store. */
export function describeStoreContract(name: string, factory: () => StateStore | Promise<StateStore>): void {
  describe(`${name} (StateStore contract)`, () => {
    let store: StateStore;

    beforeEach(async () => {
      store = await factory();
    });

    afterEach(async () => {
      await store.close();
    });

    it('returns a document it stored, and undefined for one it never stored', async () => {
      await put<Net>(store, 'networks', 'blue', { name: 'blue', subnet: '10.1.0.0/24' });
      expect(await store.get('networks', 'blue')).toEqual({ name: 'blue', subnet: '10.1.0.0/24' });
      expect(await store.get('networks', 'green')).toBeUndefined();
    });

    it('lists every document of one collection and nothing from other collections', async () => {
      await store.transaction(async (tx) => {
        await tx.put('networks', 'b', { name: 'b' });
        await tx.put('networks', 'a', { name: 'a' });
        await tx.put('sandboxes', 'a', { sandbox: 'a' });
        await tx.put('plugin:bridge', 'a', { bridge: 'br0' });
      });
      expect(await store.list('networks')).toEqual([{ name: 'a' }, { name: 'b' }]);
      expect(await store.list('sandboxes')).toEqual([{ sandbox: 'a' }]);
      expect(await store.list('plugin:bridge')).toEqual([{ bridge: 'br0' }]);
      expect(await store.list('endpoints')).toEqual([]);
      expect(await store.list('plugin:macvlan')).toEqual([]);
    });

    it('replaces a document on a second put', async () => {
      await put(store, 'networks', 'blue', { name: 'blue', subnet: '10.1.0.0/24' });
      await put(store, 'networks', 'blue', { name: 'blue', subnet: '10.2.0.0/24' });
      expect(await store.get('networks', 'blue')).toEqual({ name: 'blue', subnet: '10.2.0.0/24' });
      expect(await store.list('networks')).toHaveLength(1);
    });

    it('deletes a document, and deleting an absent document succeeds', async () => {
      await put(store, 'endpoints', 'ep1', { id: 'ep1' });
      await store.transaction((tx) => tx.delete('endpoints', 'ep1'));
      expect(await store.get('endpoints', 'ep1')).toBeUndefined();
      expect(await store.list('endpoints')).toEqual([]);
      await expect(store.transaction((tx) => tx.delete('endpoints', 'never-existed'))).resolves.toBeUndefined();
    });

    it('shows reads inside a transaction the writes made earlier in it', async () => {
      const seen = await store.transaction(async (tx) => {
        await tx.put('meta', 'version', { schema: 1 });
        return [await tx.get('meta', 'version'), await tx.list('meta')];
      });
      expect(seen).toEqual([{ schema: 1 }, [{ schema: 1 }]]);
    });

    it('keeps stored state apart from the objects callers pass in and get back', async () => {
      const doc: Net = { name: 'blue', subnet: '10.1.0.0/24', labels: { team: 'a' } };
      await put(store, 'networks', 'blue', doc);
      doc.labels!.team = 'changed after put';
      const got = (await store.get<Net>('networks', 'blue'))!;
      got.labels!.team = 'changed after get';
      const listed = await store.list<Net>('networks');
      listed[0]!.subnet = 'changed after list';
      await store.transaction(async (tx) => {
        (await tx.get<Net>('networks', 'blue'))!.name = 'changed inside a transaction';
      });
      expect(await store.get('networks', 'blue')).toEqual({ name: 'blue', subnet: '10.1.0.0/24', labels: { team: 'a' } });
    });

    it('stores documents as JSON: dates come back as strings and undefined properties are dropped', async () => {
      await put(store, 'meta', 'clock', { at: new Date('2024-01-02T03:04:05.000Z'), gone: undefined });
      expect(await store.get('meta', 'clock')).toEqual({ at: '2024-01-02T03:04:05.000Z' });
    });

    it('rejects a document that is not JSON data and writes nothing', async () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const doc of [undefined, 10n, cyclic]) {
        const err = await rejection(put(store, 'meta', 'bad', doc));
        expect(err.code).toBe('SWY_ERR_INVALID_OPTION');
        expect(err.message).toContain('meta/bad');
        expect(err.hint).toBeTruthy();
      }
      expect(await store.list('meta')).toEqual([]);
    });

    it('runs a transaction started inside another transaction within the outer one instead of deadlocking', async () => {
      const order: string[] = [];
      const result = await store.transaction(async (outer) => {
        order.push('outer start');
        await outer.put('networks', 'n', { step: 1 });
        const inner = await store.transaction(async (tx) => {
          order.push('inner');
          const seen = await tx.get('networks', 'n');
          await tx.put('networks', 'n', { step: 2 });
          return seen;
        });
        order.push('outer end');
        return { inner, afterInner: await outer.get('networks', 'n') };
      });
      expect(order).toEqual(['outer start', 'inner', 'outer end']);
      expect(result).toEqual({ inner: { step: 1 }, afterInner: { step: 2 } });
    });

    it('runs transactions from separate callers one at a time, so no read-increment-write is lost', async () => {
      await put(store, 'meta', 'counter', { n: 0 });
      const increment = () =>
        store.transaction(async (tx) => {
          const { n } = (await tx.get<{ n: number }>('meta', 'counter'))!;
          await yieldToOthers();
          await tx.put('meta', 'counter', { n: n + 1 });
        });
      await Promise.all(Array.from({ length: 25 }, increment));
      expect(await store.get('meta', 'counter')).toEqual({ n: 25 });
    });

    it('releases the lock when a transaction throws, keeps its completed writes, and passes the error on', async () => {
      const boom = new Error('boom');
      await expect(
        store.transaction(async (tx) => {
          await tx.put('networks', 'half', { done: 'first step' });
          throw boom;
        }),
      ).rejects.toBe(boom);
      const next = await store.transaction(async (tx) => {
        await tx.put('networks', 'next', { ok: true });
        return 'next ran';
      });
      expect(next).toBe('next ran');
      expect(await store.list('networks')).toEqual([{ done: 'first step' }, { ok: true }]);
    });

    it('refuses a tx object once its transaction has ended', async () => {
      let leaked: StoreTx | undefined;
      await store.transaction(async (tx) => {
        leaked = tx;
      });
      const err = await rejection(leaked!.put('networks', 'late', { late: true }));
      expect(err.code).toBe('SWY_ERR_STORE_IO');
      expect(err.message).toContain('already ended');
      expect(await store.get('networks', 'late')).toBeUndefined();
    });

    describe('names that could escape the store or clash with its files', () => {
      const badIds = ['', '..', '../escape', 'a/b', '/abs', 'nul\0byte', 'line\nbreak', '.hidden', 'x'.repeat(201), 'é'.repeat(101)];

      it.each(badIds.map((id) => [JSON.stringify(id).slice(0, 40), id]))('rejects the id %s with SWY_ERR_INVALID_NAME and a hint, writing nothing', async (_label, id) => {
        for (const attempt of [put(store, 'networks', id, { evil: true }), store.transaction((tx) => tx.delete('networks', id)), store.get('networks', id)]) {
          const err = await rejection(attempt);
          expect(err.code).toBe('SWY_ERR_INVALID_NAME');
          expect(err.hint).toMatch(/no '\/'/);
        }
        expect(await store.list('networks')).toEqual([]);
      });

      it('accepts ids up to 200 bytes made of letters, digits and punctuation other than / and ..', async () => {
        const ids = ['x'.repeat(200), 'net-1_a.b:c@d', '0123abcdef'];
        await store.transaction(async (tx) => {
          for (const id of ids) await tx.put('endpoints', id, { id });
        });
        for (const id of ids) expect(await store.get('endpoints', id)).toEqual({ id });
      });

      it.each(['bogus', 'plugin:', 'plugin:../x', 'plugin:a/b', 'plugin:.x', 'Networks'])('rejects the collection %j with SWY_ERR_INVALID_NAME, writing nothing', async (collection) => {
        const err = await rejection(put(store, collection as Collection, 'id', { evil: true }));
        expect(err.code).toBe('SWY_ERR_INVALID_NAME');
        expect(err.hint).toBeTruthy();
        expect((await rejection(store.list(collection as Collection))).code).toBe('SWY_ERR_INVALID_NAME');
      });
    });

    it('refuses to be used after close', async () => {
      await put(store, 'meta', 'm', { m: 1 });
      await store.close();
      expect((await rejection(store.get('meta', 'm'))).code).toBe('SWY_ERR_STORE_IO');
      expect((await rejection(store.transaction(async () => undefined))).message).toContain('closed');
    });
  });
}
