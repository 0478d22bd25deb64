/** CNI configs as people have them, for the net.d tests. */

/** `10-mynet.conf`, verbatim from CNI's README. */
export const CNI_README_MYNET = { cniVersion: '0.2.0', name: 'mynet', type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true, ipam: { type: 'host-local', subnet: '10.22.0.0/16', routes: [{ dst: '0.0.0.0/0' }] } };

/** `/etc/cni/net.d/87-podman-bridge.conflist` as Podman 3 writes it: bridge, portmap, firewall, tuning. */
export const PODMAN_CONFLIST = {
  cniVersion: '0.4.0',
  name: 'podman',
  plugins: [
    { type: 'bridge', bridge: 'cni-podman0', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }]] } },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'firewall' },
    { type: 'tuning' },
  ],
};
