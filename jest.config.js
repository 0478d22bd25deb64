// One root config; tests run on TypeScript sources through @swc/jest, no build needed.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'es6' },
  },
];

const moduleNameMapper = {
  '^@switchyard/core$': '<rootDir>/../core/src/index.ts',
  '^@switchyard/core/testing$': '<rootDir>/../core/src/testing/index.ts',
  '^@switchyard/dns/service$': '<rootDir>/../dns/src/dns-service.ts',
  '^@switchyard/(driver-bridge|driver-overlay|driver-veth|driver-macvlan|driver-ipvlan|driver-cni|ipam-host-local|ipam-global|firewall-nftables|dns|store-etcd|driver-routed|agent|cni|cli)$': '<rootDir>/../$1/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};

const packages = [
  'core',
  'ipam-host-local',
  'ipam-global',
  'firewall-nftables',
  'driver-bridge',
  'driver-overlay',
  'driver-veth',
  'driver-macvlan',
  'driver-ipvlan',
  'driver-cni',
  'dns',
  'store-etcd',
  'driver-routed',
  'agent',
  'cni',
  'cli',
];

// Real-kernel tests whose outcome depends on an optional kernel feature (ipvlan, 802.1Q, dummy) assert
// the behaviour for whatever the probe answers. The kernel phase exercises "missing" on this machine;
// the uml phase runs these files again under user-mode Linux (a 6.1 kernel that has the features), beside
// the tests that need them. Add a file here when it branches on a feature.
const onBothKernels = [
  'core/src/kernel/__tests__/iproute2-executor.itest.ts',
  'core/src/kernel/__tests__/netlink-executor.itest.ts',
  'core/src/kernel/__tests__/netlink-oracle-kinds.itest.ts',
  'driver-ipvlan/src/__tests__/ipvlan-host-kernel.itest.ts',
  'driver-macvlan/src/__tests__/macvlan-lab.itest.ts',
];

const testMatch = {
  unit: ['**/__tests__/**/*.test.ts'],
  kernel: ['**/__tests__/**/*.itest.ts'],
  uml: ['**/__tests__/**/*.umltest.ts', ...onBothKernels.map((f) => `**/packages/${f}`)],
  umlOnly: ['**/__tests__/**/*.umltest.ts'],
  // Deliberately failing suites (broken drivers) that a kernel test runs in a child jest; never a phase of their own.
  fixtures: ['**/__tests__/fixtures/*.conformance.ts'],
};

function project(kind, pkg) {
  return {
    displayName: `${kind === 'umlOnly' ? 'uml' : kind}:${pkg}`,
    rootDir: `packages/${pkg}`,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: { '^.+\\.ts$': swc },
    moduleNameMapper,
    testMatch: testMatch[kind],
    // Jest 30 "soft-deletes" globals a test file left behind; signal-exit (under execa) keeps its emitter
    // on globalThis, and the second file that spawns a process then recurses forever in the wrapped setter.
    testEnvironmentOptions: { globalsCleanup: 'off' },
  };
}

// SWY_TESTS=unit runs the fast tests only; SWY_TESTS=kernel the real-kernel ones (run them via scripts/lab.sh);
// SWY_TESTS=uml those for user-mode Linux (scripts/uml-run.sh). `node scripts/test.mjs` runs every phase in
// the environment it needs. SWY_TESTS=all lists every test file once, for one jest inside the UML guest
// (the only place all of them can run): `scripts/uml-run.sh env SWY_TESTS=all node_modules/.bin/jest --runInBand`.
const which = process.env.SWY_TESTS ?? 'unit';
if (!['unit', 'kernel', 'uml', 'all', 'fixtures'].includes(which)) throw new Error(`SWY_TESTS must be unit, kernel, uml, all or fixtures, not ${JSON.stringify(which)}`);
const kinds = which === 'all' ? ['unit', 'kernel', 'umlOnly'] : [which];

// The example third-party driver runs its own tests against core's built dist, as a user's package would
// (its config picks unit or real-kernel tests by the same SWY_TESTS).
const examples = ['unit', 'kernel', 'all'].includes(which) ? ['<rootDir>/examples/switchyard-driver-ptp-lite/jest.config.js'] : [];

export default {
  // No time limit on any test: a test ends when its conditions say so. This guard only stops a hung
  // test from holding CI forever (jest's default is 5 s, which failed real-kernel tests on a busy machine).
  testTimeout: 30 * 60 * 1000,
  projects: [...kinds.flatMap((kind) => packages.map((p) => project(kind, p))), ...examples],
};
