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
  '^@switchyard/(driver-bridge|driver-veth|driver-macvlan|driver-ipvlan|ipam-host-local|cli)$':
    '<rootDir>/../$1/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};

const packages = ['core', 'ipam-host-local', 'driver-bridge', 'driver-veth', 'driver-macvlan', 'driver-ipvlan', 'cli'];

function project(kind, pkg) {
  return {
    displayName: `${kind}:${pkg}`,
    rootDir: `packages/${pkg}`,
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: { '^.+\\.ts$': swc },
    moduleNameMapper,
    testMatch: [`**/__tests__/**/*.${{ unit: 'test', kernel: 'itest', uml: 'umltest' }[kind]}.ts`],
  };
}

// SWY_TESTS=unit runs the fast tests only; SWY_TESTS=kernel the real-kernel ones (run them via scripts/lab.sh).
const which = process.env.SWY_TESTS ?? 'unit';
const kinds = which === 'all' ? ['unit', 'kernel'] : [which];

// The example third-party driver runs its own tests against core's built dist, as a user's package would.
const examples = kinds.includes('unit') ? ['<rootDir>/examples/switchyard-driver-ptp-lite/jest.config.js'] : [];

export default {
  projects: [...kinds.flatMap((kind) => packages.map((p) => project(kind, p))), ...examples],
};
