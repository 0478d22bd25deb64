import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, OptAnswer, Packet } from 'dns-packet';

/** The largest UDP answer a client without EDNS accepts. */
export const CLASSIC_UDP_LIMIT = 512;
/** The UDP payload size the responder offers with EDNS (the DNS flag day 2020 value). */
export const EDNS_PAYLOAD_SIZE = 1232;

/** DNS response codes the responder sets itself. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NOTIMP: 4 } as const;

/** A decoded query, or undefined when the bytes are no DNS query (malformed, or a response). */
export function decodeQuery(bytes: Buffer): DecodedPacket | undefined {
  try {
    const packet = dnsPacket.decode(bytes);
    return packet.type === 'query' ? packet : undefined;
  } catch {
    return undefined;
  }
}

function optOf(query: Packet): OptAnswer | undefined {
  return query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
}

/** How many bytes a UDP answer to `query` may have: 512, or the EDNS payload size it offers (at most {@link EDNS_PAYLOAD_SIZE}). */
export function udpLimit(query: Packet): number {
  const opt = optOf(query);
  return opt === undefined ? CLASSIC_UDP_LIMIT : Math.max(CLASSIC_UDP_LIMIT, Math.min(opt.udpPayloadSize, EDNS_PAYLOAD_SIZE));
}

/**
 * The response to `query`: its id, question and RD bit, RA and `rcode`; AA when it carries local
 * answers (`answers` given, possibly empty for NODATA); an OPT record when the query had one. With
 * `limit` (UDP), an answer longer than that goes back without its records and with TC set, so the
 * client asks again over TCP.
 */
export function buildResponse(query: DecodedPacket, options: { rcode?: number; answers?: Answer[]; limit?: number } = {}): Buffer {
  const rd = query.flags !== undefined ? query.flags & dnsPacket.RECURSION_DESIRED : 0;
  let flags = rd | dnsPacket.RECURSION_AVAILABLE | (options.rcode ?? RCODE.NOERROR);
  if (options.answers !== undefined) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  const additionals: Answer[] = optOf(query) === undefined ? [] : [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_PAYLOAD_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  const response: Packet = { type: 'response', id: query.id ?? 0, flags, questions: query.questions ?? [], answers: options.answers ?? [], additionals };
  const bytes = dnsPacket.encode(response);
  if (options.limit === undefined || bytes.length <= options.limit) return bytes;
  return dnsPacket.encode({ ...response, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
}
