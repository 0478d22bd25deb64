import type { NetworkSpec } from '@switchyard/core';

/**
 * rkt's built-in networks, as presets the CLI creates on first use. A user network with the same
 * name (created earlier or declared in net.d) takes precedence. No DNS responder (as Docker's default
 * bridge has none): rkt's sandboxes kept the host's name servers; declare a network to get one.
 */
export const VETH_PRESETS: Readonly<Record<'default' | 'default-restricted', NetworkSpec>> = Object.freeze({
  default: { name: 'default', driver: 'veth', ipam: { ipv4: [{ subnet: '172.16.28.0/24' }] }, dns: false, options: { defaultRoute: true, ipMasq: true, antiSpoof: true }, labels: { 'switchyard.preset': 'rkt-default' } },
  'default-restricted': {
    name: 'default-restricted',
    driver: 'veth',
    // rkt used 172.17.0.0/16, which is Docker's docker0 range: let the pool picker avoid what the host uses.
    dns: false,
    options: { defaultRoute: false },
    labels: { 'switchyard.preset': 'rkt-default-restricted' },
  },
});
