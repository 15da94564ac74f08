/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": "ts-jest" },
  moduleNameMapper: { "^pulumi-kubeadm$": "<rootDir>/index.ts" },
  forceExit: true,
  testEnvironmentOptions: { globalsCleanup: "off" },
  testTimeout: 120000,
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
