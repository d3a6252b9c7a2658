/** Jest runs the TypeScript sources through SWC; `npm run typecheck` does the type checking. */
// @kubernetes/client-node 1.x and the OIDC packages it imports, and `cookie` 2 (which light-my-request, behind
// fastify's app.inject, requires), ship ES modules only; jest's CommonJS runtime cannot `require` them on
// Node 20, so SWC turns exactly those packages into CommonJS.
const ESM_ONLY_PACKAGES = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose', 'cookie'];

module.exports = {
  // Node's environment, holding back every log of a test until the test fails (test/jest/quiet-environment.ts).
  testEnvironment: '<rootDir>/test/jest/quiet-environment.ts',
  // Jest's own reporter that prints only failing files (their logs, then their failures), then the summary.
  reporters: ['agent'],
  // Not even for a single file: a verbose run prints every test and bypasses the held-back logs.
  verbose: false,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }],
    '^.+\\.js$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY_PACKAGES.join('|')})/)`],
  testTimeout: 120_000,
  maxWorkers: 2,
  // How long a worker has to exit by itself once the run is over. Nothing is left open by then (its
  // 'exit' event comes within milliseconds), but freeing the heap of some 30 test files takes a worker
  // 0.2 to 0.5 s, more on a busy machine: past jest's 500 ms default it is killed and jest warns. A
  // handle left open still keeps a worker alive past this, and still gets the warning.
  workerGracefulExitTimeout: 3_000,
};
