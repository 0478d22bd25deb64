// Tests run on the TypeScript sources; @switchyard/core is used as published (its dist), as any user's would be.
// SWY_TESTS=unit (default) runs test/*.test.ts on FakeKernel; SWY_TESTS=kernel runs test/*.itest.ts on the
// real kernel, which must happen inside a private network namespace (see test/conformance.itest.ts).
const kind = process.env.SWY_TESTS ?? 'unit';
const match = { unit: ['test'], kernel: ['itest'], all: ['test', 'itest'] }[kind] ?? ['test'];

export default {
  displayName: `${kind}:example-ptp-lite`,
  rootDir: new URL('.', import.meta.url).pathname,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: match.map((m) => `<rootDir>/test/**/*.${m}.ts`),
  testTimeout: 30 * 60 * 1000,
};
