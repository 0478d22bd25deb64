export * from './file-lock.js';
export * from './file-store.js';
export * from './memory-store.js';
export { collectionDirName, assertValidId } from './store-names.js';
