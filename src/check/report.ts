/**
 * The report of `eureka-drainer check`: every covered pod's findings, and the two ways it is printed (a table
 * of the problems for people, the whole report as JSON for scripts). Pure.
 */
import type { ConfigMaps } from '../inject/grace';
import { isObject } from '../inject/workload';
import { checkPod, type PodCheck } from './pod-check';
import type { Labels } from './scope';

export interface ClusterView {
  /** Pods as the apiserver returns them. */
  readonly pods: readonly unknown[];
  /** Labels of the namespaces that could be read; a namespace missing here counts as not opted in. */
  readonly namespaceLabels: ReadonlyMap<string, Labels>;
  /** ConfigMaps that could be read, by namespace, then name → data. */
  readonly configMaps: ReadonlyMap<string, ConfigMaps>;
  /** What the shell could not read, said in the report (a partial view must not look like a clean one). */
  readonly warnings: readonly string[];
}

export interface CheckReport {
  /** The image the drainers were compared with. */
  readonly image: string;
  /** Pods looked at (a pod the check does not cover is not listed), sorted by namespace and name. */
  readonly pods: readonly PodCheck[];
  readonly problemCount: number;
  readonly warnings: readonly string[];
}

export function buildReport(view: ClusterView, image: string): CheckReport {
  const pods: PodCheck[] = [];
  for (const pod of view.pods) {
    const namespace = isObject(pod) && isObject(pod.metadata) && typeof pod.metadata.namespace === 'string' ? pod.metadata.namespace : '';
    const checked = checkPod(pod, { namespaceLabels: view.namespaceLabels.get(namespace), configMaps: view.configMaps.get(namespace) ?? {}, image });
    if (checked) pods.push(checked);
  }
  pods.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return { image, pods, problemCount: pods.reduce((n, p) => n + p.problems.length, 0), warnings: view.warnings };
}

/** One line per problem; then one line per warning and a summary. */
export function formatTable(report: CheckReport): string {
  const rows = report.pods.flatMap((p) => p.problems.map((problem) => [p.namespace, p.name, problem.kind, problem.message]));
  const lines: string[] = [];
  if (rows.length > 0) {
    const header = ['NAMESPACE', 'POD', 'PROBLEM', 'DETAIL'];
    const widths = [0, 1, 2].map((i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows]) lines.push(row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  '));
    lines.push('');
  }
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  const withDrainer = report.pods.filter((p) => p.drainer !== 'none').length;
  const troubled = report.pods.filter((p) => p.problems.length > 0).length;
  lines.push(
    `checked ${report.pods.length} pod${report.pods.length === 1 ? '' : 's'} (${withDrainer} with the drainer): ` +
      (report.problemCount === 0 ? 'no problems' : `${report.problemCount} problem${report.problemCount === 1 ? '' : 's'} in ${troubled} pod${troubled === 1 ? '' : 's'}`),
  );
  return lines.join('\n');
}

export function formatJson(report: CheckReport): string {
  return JSON.stringify(report, null, 2);
}
