import { runDriverConformance } from '../../testing/driver-conformance.js';
import { fixtureDriver } from './fixture-driver.js';

// The suite on the real kernel against the known-good fixture driver: the baseline that the broken
// variants in fixtures/broken-drivers.ts are measured against (conformance-catches-defects.itest.ts).
runDriverConformance('fixture', () => fixtureDriver(), { kernel: 'lab' });
