export * from './ids.js';
export * from './addresses.js';
export * from './driver-options.js';
export * from './fault-points.js';
