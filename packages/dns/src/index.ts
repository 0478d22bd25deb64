/**
 * Switchyard's DNS responder: one process per state dir answers, on the gateway addresses of every
 * network with DNS, the names of the sandboxes on it (scoped by the asker), and forwards other names
 * upstream; {@link createDnsService} is core's DnsService port, which starts and signals it.
 *
 * @module \@switchyard/dns
 */
export { createDnsService, type DnsServiceOptions } from './dns-service.js';
export { Responder, type ResponderOptions, type ListeningNetwork } from './responder.js';
export { Records, type RecordsOptions, type ServedNetwork, type LookupResult } from './records.js';
export { runResponder, type RunResponderIo } from './main.js';
export { type ResponderFile } from './responder-file.js';
export { parseUpstream, type Upstream } from './upstreams.js';
