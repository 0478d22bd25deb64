// Where the benchmarks keep state: both sides of every comparison (Switchyard's state dir, CNI host-local's
// dataDir) go in the same place. Default /var/tmp: on the disk where both keep their state by default
// (/var/lib/switchyard, /var/lib/cni) — on the development VM /tmp creates files ~10x slower than any other
// directory of the same ext4 disk (0.34 vs 0.03 ms a create + unlink, measured), which is the machine's,
// not either side's. BENCH_DIR overrides.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';

/** The parent of every benchmark's temporary directories. */
export const BENCH_DIR = process.env.BENCH_DIR || '/var/tmp';

/** A fresh private directory under {@link BENCH_DIR}, named `<prefix>XXXXXX`. */
export function benchDir(prefix) {
  return mkdtempSync(join(BENCH_DIR, prefix));
}
