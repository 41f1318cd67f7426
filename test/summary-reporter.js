/**
 * Prints one closing line, "jest: N passed, N failed, N skipped", that CI tooling reads whatever the runner.
 * Jest's own summary stays above it. With JEST_SUMMARY_TOTAL naming a file, each run also adds its counts there,
 * and `node test/summary-reporter.js --total FILE` prints "total: N passed, N failed, N skipped" over every run
 * (test/run.sh: the unit and stack suites, then the real-cluster suites).
 */
const fs = require('node:fs');

const line = (word, c) => `${word}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped\n`;

function readTotal(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return { passed: 0, failed: 0, skipped: 0 };
  }
}

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const counts = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    process.stdout.write(`\n${line('jest', counts)}`);
    const file = process.env.JEST_SUMMARY_TOTAL;
    if (file) {
      const total = readTotal(file);
      for (const k of Object.keys(counts)) total[k] += counts[k];
      fs.writeFileSync(file, JSON.stringify(total));
    }
  }
}
module.exports = SummaryReporter;

if (require.main === module) {
  const i = process.argv.indexOf('--total');
  if (i < 0 || !process.argv[i + 1]) {
    process.stderr.write('usage: node test/summary-reporter.js --total FILE\n');
    process.exit(2);
  }
  const total = readTotal(process.argv[i + 1]);
  // A run that never reported (it failed before jest ran) must not look like a clean total.
  if (total.passed + total.failed + total.skipped === 0) total.failed = 1;
  process.stdout.write(line('total', total));
}
