/**
 * Switchyard as CNI plugins: the CNI 1.1.0 plugin protocol layer (the `CNI_*` environment, the
 * configuration on stdin, version checks, results and errors on stdout) and, on top of it, the
 * handlers behind the `switchyard-bridge`, `switchyard-ptp`, `switchyard-macvlan`,
 * `switchyard-ipvlan` and `switchyard-host-local` plugin executables.
 *
 * @module \@switchyard/cni
 */
export * from './protocol/index.js';
export * from './attachment.js';
export * from './net-conf.js';
export * from './plugin.js';
export * from './builtins.js';
export * from './executable.js';
export * from './entry.js';
export * from './entry-script.js';
export * from './host-local.js';
