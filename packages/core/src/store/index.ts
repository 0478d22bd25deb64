export * from './file-lock.js';
