import { Registry } from 'prom-client';
import { createMetrics } from '../../src/metrics';

/**
 * The series names the drainer exports, read from createMetrics itself (a fresh registry, no Node process
 * metrics): a histogram exports name_bucket, name_sum and name_count, never its bare name.
 */
export async function exportedSeriesNames(): Promise<Set<string>> {
  const registry = new Registry();
  createMetrics(registry);
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else names.add(metric.name);
  }
  return names;
}

/** PromQL functions and aggregations the dashboard and rules may call; anything else followed by `(` is a typo. */
export const PROMQL_FUNCTIONS = new Set([
  'sum', 'max', 'min', 'avg', 'count', 'topk', 'bottomk',
  'rate', 'increase', 'irate', 'changes', 'resets', 'delta',
  'max_over_time', 'min_over_time', 'avg_over_time', 'count_over_time', 'last_over_time',
  'histogram_quantile', 'label_replace', 'vector', 'scalar', 'absent', 'absent_over_time', 'clamp_min', 'clamp_max',
  // Grafana's variable query, not PromQL: label_values(selector, label).
  'label_values',
]);

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);

export interface Names {
  readonly metrics: string[];
  readonly functions: string[];
}

/**
 * The metric names and function names an expression uses. Label matchers, ranges, grouping clauses, string
 * literals and Grafana variables are removed first, so a label name or value never counts as a metric.
 */
export function namesIn(expression: string): Names {
  let e = expression;
  const labelValues = /^\s*label_values\(([\s\S]*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.exec(e);
  if (labelValues) e = `label_values(${labelValues[1]})`;
  e = e
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const metrics: string[] = [];
  const functions: string[] = [];
  for (const m of e.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (KEYWORDS.has(name!)) continue;
    (call ? functions : metrics).push(name!);
  }
  return { metrics, functions };
}
