import type { RetirementOptions } from '../controller/link-retirement.js';

/** Resolved instance options, registered under TOKENS.Options by the composition root. */
export interface ResolvedOptions {
  /** Root of Switchyard's own files (`/var/lib/switchyard` unless overridden). */
  stateDir: string;
  /** Directory whose dependencies third-party plugins are resolved from (the embedding app); none for the CLI. */
  appDir?: string;
  /** Extra directory plugins are resolved from (the CLI's `<stateDir>/plugins`), searched after appDir. */
  pluginDir?: string;
  /** Load `switchyard-driver-<type>` / `switchyard-ipam-<name>` on first use when a type is unknown. */
  autoloadPlugins: boolean;
  /** Directory for per-sandbox hosts / resolv.conf files. */
  runDir: string;
  /** First and last host port that automatic host ports are picked from. */
  hostPortRange: readonly [number, number];
  /**
   * `immediate`: a disconnect deletes its links before it returns. Absent or an object: it retires them and
   * they are deleted in batches, `delayMs` after the last retirement or once `maxBatch` wait.
   */
  linkDeletion?: 'immediate' | Partial<RetirementOptions>;
}
