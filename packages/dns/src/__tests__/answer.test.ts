import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import { Responder } from '../responder.js';
import { queryPacket } from './dns-lab.js';
import { StateDocs } from './state-docs.js';
import { RUNS } from '../../../core/src/__tests__/hostile-input.js';

// Responder.answer() alone: no socket is bound (reload() is never called) and no upstream is configured,
// so nothing leaves the process; a forwarded question is answered SERVFAIL.
let docs: StateDocs;
let responder: Responder;

beforeEach(() => {
  docs = new StateDocs();
  docs.network('front', { dns: true, gateway4: '10.1.0.1' });
  docs.sandbox('web', [{ network: 'front', ipv4: '10.1.0.2/24', aliases: ['www'] }]);
  docs.sandbox('api', [{ network: 'front', ipv4: '10.1.0.3/24' }]);
  responder = new Responder({ stateDir: docs.stateDir, upstreams: [], hostNameservers: () => [] });
});

afterEach(() => docs.cleanup());

const ask = async (source: string, packet: dnsPacket.Packet, transport: 'udp' | 'tcp' = 'udp') => {
  const reply = await responder.answer(dnsPacket.encode(packet), source, transport);
  if (reply === undefined) throw new Error('no reply');
  return dnsPacket.decode(reply);
};

test('a local name is answered, another name is SERVFAIL without upstreams, and both keep the id', async () => {
  expect(await ask('10.1.0.3', queryPacket('www', 'A', 31))).toMatchObject({ id: 31, rcode: 'NOERROR', flag_aa: true, answers: [{ type: 'A', name: 'www', ttl: 0, data: '10.1.0.2' }] });
  expect(await ask('10.1.0.3', queryPacket('example.com', 'A', 32))).toMatchObject({ id: 32, rcode: 'SERVFAIL', answers: [] });
  expect(await ask('192.0.2.1', queryPacket('www', 'A', 33))).toMatchObject({ id: 33, rcode: 'SERVFAIL' });
});

test('a query without exactly one question is FORMERR; a response is dropped', async () => {
  expect(await ask('10.1.0.3', { type: 'query', id: 41, questions: [] })).toMatchObject({ id: 41, rcode: 'FORMERR' });
  const two = { type: 'query' as const, id: 42, questions: [queryPacket('web', 'A').questions![0]!, queryPacket('api', 'A').questions![0]!] };
  expect(await ask('10.1.0.3', two)).toMatchObject({ id: 42, rcode: 'FORMERR' });
  expect(await responder.answer(dnsPacket.encode({ type: 'response', id: 43, questions: queryPacket('web', 'A').questions! }), '10.1.0.3', 'udp')).toBeUndefined();
});

test('a name written after the previous query answers the next one', async () => {
  expect(await ask('10.1.0.3', queryPacket('late', 'A'))).toMatchObject({ rcode: 'SERVFAIL' });
  docs.sandbox('late', [{ network: 'front', ipv4: '10.1.0.9/24' }]);
  expect(await ask('10.1.0.3', queryPacket('late', 'A'))).toMatchObject({ rcode: 'NOERROR', answers: [{ data: '10.1.0.9' }] });
});

test(`arbitrary bytes never throw: dropped, or answered with a DNS message (${RUNS} packets)`, async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
      const reply = await responder.answer(Buffer.from(bytes), '10.1.0.3', 'udp');
      // Either dropped, or a response dns-packet can read.
      return reply === undefined || dnsPacket.decode(reply).type === 'response';
    }),
    { numRuns: RUNS },
  );
});

test(`a valid query with some of its bytes flipped never throws (${RUNS} packets)`, async () => {
  const valid = dnsPacket.encode(queryPacket('web', 'A', 7));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), async (flips) => {
      const bytes = Buffer.from(valid);
      for (const [at, value] of flips) bytes[at] = value;
      const reply = await responder.answer(bytes, '10.1.0.3', 'udp');
      return reply === undefined || dnsPacket.decode(reply).id === dnsPacket.decode(bytes).id;
    }),
    { numRuns: RUNS },
  );
});
