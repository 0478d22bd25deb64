import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDriverConformance, uniqueName } from '@switchyard/core/testing';
import { createCniDriverManifest } from '../index.js';

// The conformance suite on the real kernel with the reference bridge plugin and host-local (Debian's
// /usr/lib/cni). The plugins allocate addresses themselves, hence the suite's delegated-IPAM mode; the
// bridge plugin gives no default route without isDefaultGateway.
const dataDir = mkdtempSync(join(tmpdir(), 'swy-cni-conf-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const config = {
  cniVersion: '1.0.0',
  name: 'cniconf',
  plugins: [
    {
      type: 'bridge',
      bridge: uniqueName('cfbr'),
      isGateway: true,
      capabilities: { ips: true, mac: true },
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.86.0.0/24' }]], dataDir },
    },
  ],
};

runDriverConformance('cni (reference bridge + host-local)', () => createCniDriverManifest({ cniPath: '/usr/lib/cni' }), {
  kernel: 'lab',
  networkOptions: { config },
  invalidOptions: [{ config: { cniVersion: '1.0.0', name: 'x' } }, { file: 'relative.conflist' }, { config, cniPath: 'bin' }],
  delegatedIpam: { subnet4: '10.86.0.0/24', staticIpv4: '10.86.0.42' },
  defaultRoute: false,
});
