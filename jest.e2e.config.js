// End-to-end suite: real Synapse, LiveKit and clients (provisioned by scripts/provision-e2e.sh); run with --runInBand.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test/e2e"],
  testMatch: ["**/*.e2e.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 180000,
};
