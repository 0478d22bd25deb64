import { runDriverConformance } from '../../testing/driver-conformance.js';
import { attachingFixtureDriver } from './attaching-fixture-driver.js';

// The suite's delegated-IPAM mode, checked against a known-good attaching driver on FakeKernel.
runDriverConformance('attaching-fixture', () => attachingFixtureDriver(), { delegatedIpam: { subnet4: '10.99.0.0/24', staticIpv4: '10.99.0.42' }, defaultRoute: false });
