export * from './plumbing.js';
export * from './sandbox-files.js';
export * from './sandbox-names.js';
export * from './netns-identity.js';
export * from './traffic.js';
