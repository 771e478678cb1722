// Fast suite (unit + integration): no external servers, runs in seconds.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test/unit", "<rootDir>/test/integration"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
  moduleFileExtensions: ["ts", "js", "json"],
  testTimeout: 20000,
};
