import { runDriverConformance } from '@switchyard/core/testing';
import manifest from '../src/index.js';

// The same suite on the real kernel. It must run inside a private network namespace (the "lab"), as root:
//   unshare --net --mount --propagation private sh -c 'mount -t tmpfs lab /run/netns && ip link set lo up && SWITCHYARD_LAB=1 SWY_TESTS=kernel npm test'
runDriverConformance('ptp-lite', () => manifest, { kernel: 'lab' });
