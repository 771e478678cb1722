// Prints the plain closing line "N passed, N failed" from one or more jest --json result files.
// A suite that failed to run counts as failed, so a broken or empty run is visible.
import { existsSync, readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`jest-summary: ${file} is missing (the suite did not run)`);
    failed += 1;
    continue;
  }
  const result = JSON.parse(readFileSync(file, "utf8"));
  passed += result.numPassedTests;
  failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
  if (result.numTotalTests === 0) console.error(`jest-summary: ${file} ran no test`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
