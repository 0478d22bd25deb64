import { runDriverConformance } from '../../testing/driver-conformance.js';
import { fixtureDriver } from './fixture-driver.js';

// The suite checked against a known-good driver, so a failure elsewhere points at that driver.
runDriverConformance('fixture', () => fixtureDriver());
