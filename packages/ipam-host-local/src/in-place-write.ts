import { closeSync, ftruncateSync, openSync, writeSync, constants as fsc } from 'node:fs';

/**
 * Overwrites a small file in place (no O_TRUNC, no rename): ext4 flushes data on truncate-to-zero and on rename-over,
 * ~100 us each. Only for files whose torn content is harmless (last_reserved_ip, index hints).
 */
export function writeInPlace(path: string, content: string, mode = 0o600): void {
  const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT, mode);
  try {
    const data = Buffer.from(content);
    writeSync(fd, data, 0, data.length, 0);
    ftruncateSync(fd, data.length);
  } finally {
    closeSync(fd);
  }
}
