import { isDeepStrictEqual } from 'node:util';
import { kernelSnapshot, type KernelSnapshot } from './lab.js';

/**
 * The kernel destroys a deleted namespace's links asynchronously, and an unanswered ARP query keeps
 * them for up to ~3 s. Leak checks therefore wait for the snapshot to reach `expected` (polling every
 * 100 ms, for at most `maxWaitMs`) and return whatever they saw last, for the test to compare.
 */
export async function settledSnapshot(expected: KernelSnapshot, nsNames: readonly string[] | 'all' = [], maxWaitMs = 10_000): Promise<KernelSnapshot> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const now = await kernelSnapshot(nsNames);
    if (isDeepStrictEqual(now, expected) || Date.now() > deadline) return now;
    await new Promise((r) => setTimeout(r, 100));
  }
}
