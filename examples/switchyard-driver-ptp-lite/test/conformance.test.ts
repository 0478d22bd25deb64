import { runDriverConformance } from '@switchyard/core/testing';
import manifest from '../src/index.js';

runDriverConformance('ptp-lite', () => manifest);
