import * as dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { buildResponse, decodeQuery, RCODE, udpLimit } from '../answers.js';

const query = (name: string, type: 'A' | 'AAAA' | 'MX', edns?: number) =>
  dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    ...(edns !== undefined ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] } : {}),
  });

const aRecords = (n: number): Answer[] => Array.from({ length: n }, (_, i) => ({ type: 'A', name: 'many', ttl: 0, data: `10.9.${i >> 8}.${i & 255}` }));

test('malformed bytes and responses are not queries', () => {
  expect(decodeQuery(Buffer.from('not a dns packet'))).toBeUndefined();
  expect(decodeQuery(Buffer.alloc(0))).toBeUndefined();
  expect(decodeQuery(query('web', 'A').subarray(0, 20))).toBeUndefined();
  expect(decodeQuery(dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'x' }] }))).toBeUndefined();
  expect(decodeQuery(query('web', 'A'))?.questions).toEqual([{ type: 'A', name: 'web', class: 'IN' }]);
});

test('a local answer keeps the id, the question and RD, and is authoritative with TTL 0', () => {
  const q = decodeQuery(query('web', 'A'))!;
  const r = dnsPacket.decode(buildResponse(q, { answers: [{ type: 'A', name: 'web', ttl: 0, data: '10.1.0.2' }], limit: udpLimit(q) }));
  expect(r).toMatchObject({ type: 'response', id: 4242, flag_aa: true, flag_rd: true, flag_ra: true, flag_tc: false, rcode: 'NOERROR' });
  expect(r.questions).toEqual([{ type: 'A', name: 'web', class: 'IN' }]);
  expect(r.answers).toEqual([{ type: 'A', name: 'web', ttl: 0, class: 'IN', flush: false, data: '10.1.0.2' }]);
});

test('NODATA is NOERROR with no answer; SERVFAIL and FORMERR carry their code and no answer', () => {
  const q = decodeQuery(query('web', 'MX'))!;
  expect(dnsPacket.decode(buildResponse(q, { answers: [] }))).toMatchObject({ rcode: 'NOERROR', flag_aa: true, answers: [] });
  expect(dnsPacket.decode(buildResponse(q, { rcode: RCODE.SERVFAIL }))).toMatchObject({ id: 4242, rcode: 'SERVFAIL', flag_aa: false, answers: [] });
  expect(dnsPacket.decode(buildResponse(q, { rcode: RCODE.FORMERR }))).toMatchObject({ rcode: 'FORMERR' });
});

test('over UDP without EDNS an answer over 512 bytes is truncated (TC, no records); with EDNS the offered size counts', () => {
  const classic = decodeQuery(query('many', 'A'))!;
  expect(udpLimit(classic)).toBe(512);
  const small = dnsPacket.decode(buildResponse(classic, { answers: aRecords(20), limit: udpLimit(classic) }));
  expect(small).toMatchObject({ flag_tc: false });
  expect(small.answers).toHaveLength(20);
  const big = dnsPacket.decode(buildResponse(classic, { answers: aRecords(40), limit: udpLimit(classic) }));
  expect(big).toMatchObject({ flag_tc: true, answers: [], questions: [{ name: 'many', type: 'A', class: 'IN' }] });
  // Over TCP (no limit) it all goes.
  expect(dnsPacket.decode(buildResponse(classic, { answers: aRecords(40) })).answers).toHaveLength(40);

  const edns = decodeQuery(query('many', 'A', 4096))!;
  expect(udpLimit(edns)).toBe(1232);
  const fits = dnsPacket.decode(buildResponse(edns, { answers: aRecords(40), limit: udpLimit(edns) }));
  expect(fits).toMatchObject({ flag_tc: false });
  expect(fits.answers).toHaveLength(40);
  expect(fits.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232 })]);
  expect(udpLimit(decodeQuery(query('many', 'A', 100))!)).toBe(512);
});
