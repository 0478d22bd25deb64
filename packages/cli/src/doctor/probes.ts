import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { currentPrivileges, type Privileges } from '../privileges.js';

export interface DirStatus {
  exists: boolean;
  /** Writable now, or creatable (nearest existing parent writable). */
  writable: boolean;
}

/** What `doctor` reads from the machine; tests replace any of these. */
export interface DoctorProbes {
  /** Full path of an executable found on PATH. */
  which(tool: string, path: string): string | undefined;
  /** Plugin binaries in a CNI plugin directory. */
  cniPlugins(dir: string): string[];
  /** False when the kernel was built without loadable modules (no /proc/modules). */
  moduleLoading(): boolean;
  privileges(): Privileges;
  dirStatus(dir: string): DirStatus;
  /** A sysctl of this namespace (`net.ipv4.ip_forward`), or undefined when it cannot be read. */
  sysctl(key: string): string | undefined;
}

export const realProbes: DoctorProbes = {
  which(tool, path) {
    for (const dir of path.split(':').filter(Boolean)) {
      const file = join(dir, tool);
      try {
        accessSync(file, constants.X_OK);
        if (statSync(file).isFile()) return file;
      } catch {
        // Not here; keep looking.
      }
    }
    return undefined;
  },
  cniPlugins(dir) {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  },
  moduleLoading: () => existsSync('/proc/modules'),
  sysctl(key) {
    try {
      return readFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  },
  privileges: currentPrivileges,
  dirStatus(dir) {
    let probe = dir;
    while (!existsSync(probe) && dirname(probe) !== probe) probe = dirname(probe);
    try {
      accessSync(probe, constants.W_OK);
      return { exists: probe === dir, writable: true };
    } catch {
      return { exists: probe === dir, writable: false };
    }
  },
};
