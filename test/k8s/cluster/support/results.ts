/**
 * What a cluster test measured, for test/k8s/RESULTS.md: each call appends one JSON line to the file
 * run-tests.sh names in CLUSTER_RESULTS_FILE (the tests are run by it; without it, nothing is written).
 */
import { appendFileSync } from 'node:fs';

export function recordResult(test: string, measured: Readonly<Record<string, unknown>>): void {
  const file = process.env['CLUSTER_RESULTS_FILE'];
  if (file) appendFileSync(file, `${JSON.stringify({ test, ...measured })}\n`);
}
