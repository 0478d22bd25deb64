import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { guideBlocks, guideCommandBlocks } from './driver-guide.js';

const guide = readFileSync(fileURLToPath(new URL('../../../../../docs/writing-a-driver.md', import.meta.url)), 'utf8');

// registry-round-trip.itest.ts runs these blocks, in this order, with their paths made its own.
const EXERCISED = [
  ['mkdir switchyard-driver-ptp-lite && cd switchyard-driver-ptp-lite', 'npm init -y', 'npm install --save-dev @switchyard/core typescript @types/node jest @swc/jest @swc/core'],
  ["unshare --net --mount --propagation private sh -c 'mount -t tmpfs lab /run/netns && ip link set lo up && SWITCHYARD_LAB=1 SWY_TESTS=kernel npm test'"],
  ['npm pack', 'mkdir /tmp/app && cd /tmp/app && npm init -y', 'npm install @switchyard/core @switchyard/ipam-host-local /path/to/switchyard-driver-ptp-lite-0.1.0.tgz'],
  ['npm version patch', 'npm publish'],
];

describe('docs/writing-a-driver.md', () => {
  it('has no shell command that the registry round-trip test does not run', () => {
    expect(guideCommandBlocks(guide).map((block) => block.split('\n'))).toEqual(EXERCISED);
  });

  it('shows the package.json, tsconfig.json, jest config, conformance tests and try.mjs that the round-trip test writes from it', () => {
    const blocks = guideBlocks(guide);

    expect(blocks.filter((b) => b.lang === 'json' && b.text.includes('"switchyard"'))).toHaveLength(1);
    expect(blocks.filter((b) => b.lang === 'json' && b.text.includes('compilerOptions'))).toHaveLength(1);
    expect(blocks.filter((b) => b.lang === 'js' && b.text.includes('testMatch'))).toHaveLength(1);
    expect(blocks.filter((b) => b.lang === 'ts' && (b.text.startsWith('// test/conformance.test.ts') || b.text.startsWith('// test/conformance.itest.ts')))).toHaveLength(2);
    expect(blocks.filter((b) => b.lang === 'js' && b.text.startsWith('// /tmp/app/try.mjs'))).toHaveLength(1);
  });
});
