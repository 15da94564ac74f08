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
  // Two suites at a time on CI's two cores: the lab suites mostly wait on their hosts (sleeps, polls),
  // and one at a time would take the run past 18 minutes.
  maxWorkers: 2,
  reporters: ["default", "<rootDir>/test/support/summary-reporter.js"],
};
