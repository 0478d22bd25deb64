export * from './plumbing.js';
export * from './sandbox-files.js';
