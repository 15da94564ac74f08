// Prints the plain closing line "tests: N passed, N failed" that CI reads for any runner, and above
// it the head of each failure (CI keeps only the tail of a long run's output).
const ANSI = /\u001b\[[0-9;]*m/g;
const HEAD_LINES = 24;

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const failures = [];
    for (const suite of results.testResults) {
      if (suite.testExecError) failures.push(`${suite.testFilePath}: ${suite.testExecError.message}`);
      for (const t of suite.testResults) {
        if (t.status !== "failed") continue;
        const head = t.failureMessages.join("\n").replace(ANSI, "").split("\n").filter(l => !/^\s+at /.test(l)).slice(0, HEAD_LINES).map(l => `    ${l.slice(0, 400)}`);
        failures.push(`${suite.testFilePath.replace(process.cwd() + "/", "")} › ${t.fullName}\n${head.join("\n")}`);
      }
    }
    if (failures.length) process.stdout.write(`\nfailed:\n${failures.map(f => `- ${f}`).join("\n")}\n`);
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `tests: ${results.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : "");
    process.stdout.write(`\n${line}\n`);
  }
}
module.exports = SummaryReporter;
