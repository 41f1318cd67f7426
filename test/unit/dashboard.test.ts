import { expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { exportedSeriesNames, namesIn, PROMQL_FUNCTIONS } from '../helpers/promql';

/**
 * k8s/grafana-dashboard.json is importable (datasource variable, namespace/pod variables, a sane grid) and
 * queries only series src/metrics.ts exports: rename a metric there and this test names every panel it breaks.
 */
const root = resolve(__dirname, '..', '..');

interface Target { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }
interface Panel { id: number; type: string; title: string; description?: string; gridPos: { x: number; y: number; w: number; h: number }; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[] }
interface Variable { name: string; type: string; query: unknown; definition?: string; datasource?: { uid?: string } }
interface Dashboard { title: string; uid: string; schemaVersion: number; panels: Panel[]; templating: { list: Variable[] } }

const dashboard = JSON.parse(readFileSync(resolve(root, 'k8s/grafana-dashboard.json'), 'utf8')) as Dashboard;
const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId ?? ''}`, expr: t.expr ?? '' })));
const variableQueries = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => ({ where: `variable $${v.name}`, expr: typeof v.query === 'string' ? v.query : String((v.query as { query?: string }).query) }));

let exported: Set<string>;
beforeAll(async () => {
  exported = await exportedSeriesNames();
});

/** Names in `expr` that the drainer does not export, and functions PromQL does not have. */
function problems(expr: string): string[] {
  const { metrics, functions } = namesIn(expr);
  return [
    ...(metrics.length === 0 ? ['no metric at all'] : []),
    ...metrics.filter((m) => !exported.has(m)).map((m) => `unknown metric ${m}`),
    ...functions.filter((f) => !PROMQL_FUNCTIONS.has(f)).map((f) => `unknown function ${f}`),
  ];
}

test('importable: title, uid, schemaVersion, a Prometheus datasource variable every panel uses', () => {
  expect(dashboard.title).toBe('eureka-drainer');
  expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
  expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  const datasource = dashboard.templating.list.find((v) => v.type === 'datasource');
  expect(datasource).toMatchObject({ name: 'datasource', query: 'prometheus' });
  for (const p of panels) {
    expect({ panel: p.title, datasource: p.datasource }).toEqual({ panel: p.title, datasource: { type: 'prometheus', uid: '${datasource}' } });
    for (const t of p.targets ?? []) expect({ panel: p.title, datasource: t.datasource?.uid }).toEqual({ panel: p.title, datasource: '${datasource}' });
  }
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) expect(v.datasource?.uid).toBe('${datasource}');
});

test('namespace and pod variables, and every drainer selector filters by both', () => {
  expect(dashboard.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['namespace', 'pod']));
  for (const { where, expr } of queries) {
    for (const m of expr.matchAll(/(eureka_drainer_[a-z_]+)(\{[^}]*\})?/g)) {
      expect({ where, selector: m[0] }).toEqual({ where, selector: expect.stringMatching(/namespace=~"\$namespace".*pod=~"\$pod"/) });
    }
  }
});

test('panels: unique ids, a title and a description each, on the 24-column grid without overlapping', () => {
  const all = allPanels(dashboard.panels);
  expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
  const taken = new Map<string, string>();
  const clashes: string[] = [];
  for (const p of all) {
    expect(p.title.length).toBeGreaterThan(0);
    if (p.type !== 'row') expect({ panel: p.title, described: (p.description ?? '').length > 20 }).toEqual({ panel: p.title, described: true });
    const { x, y, w, h } = p.gridPos;
    if (x < 0 || w < 1 || x + w > 24) clashes.push(`${p.title}: outside the grid`);
    for (let i = x; i < x + w; i++) {
      for (let j = y; j < y + h; j++) {
        const owner = taken.get(`${i},${j}`);
        if (owner !== undefined) clashes.push(`${p.title} overlaps ${owner} at ${i},${j}`);
        taken.set(`${i},${j}`, p.title);
      }
    }
  }
  expect(clashes).toEqual([]);
});

test('every panel has a query', () => {
  for (const p of panels) expect({ panel: p.title, queries: (p.targets ?? []).filter((t) => (t.expr ?? '').trim()).length > 0 }).toEqual({ panel: p.title, queries: true });
});

test('every query uses only series src/metrics.ts exports, and PromQL functions that exist', () => {
  for (const { where, expr } of [...queries, ...variableQueries]) expect({ where, problems: problems(expr) }).toEqual({ where, problems: [] });
});

test('the dashboard shows what an SRE asks for', () => {
  const all = queries.map((q) => q.expr).join('\n');
  for (const needed of [
    /sum by \(outcome\) \(max_over_time\(eureka_drainer_drains_total/, // drains by outcome
    /eureka_drainer_drain_duration_seconds_sum[\s\S]*eureka_drainer_plan_seconds/, // duration against plan
    /eureka_drainer_drain_phase/, // current phase per pod
    /eureka_drainer_server_verification_delay_seconds/, // per-server verification time
    /eureka_drainer_eureka_requests_total\{[^}]*result!="success"/, // Eureka request errors
    /eureka_drainer_plan_fits_grace_period\{[^}]*\} == 0/, // plans that do not fit
    /eureka_drainer_prestop_requests_total\{[^}]*result=~"unauthorized\|forbidden"/, // refused triggers
    /eureka_drainer_override_restored_total/,
    /eureka_drainer_cleanup_deletes_total/,
  ]) {
    expect(all).toMatch(needed);
  }
});

describe('the name check can fail', () => {
  test('a renamed metric, a misspelt function and a label-only expression are reported', () => {
    expect(problems('sum by (outcome) (max_over_time(eureka_drainer_drain_total{namespace=~"$namespace"}[$__range]))')).toEqual(['unknown metric eureka_drainer_drain_total']);
    expect(problems('histogram_quantil(0.9, rate(eureka_drainer_drain_duration_seconds_bucket[5m]))')).toEqual(['unknown function histogram_quantil']);
    expect(problems('eureka_drainer_drain_duration_seconds')).toEqual(['unknown metric eureka_drainer_drain_duration_seconds']);
  });

  test('label names, label values, durations and grouping clauses are not taken for metrics', () => {
    expect(namesIn('sum by (namespace, pod) (eureka_drainer_plan_seconds{term="server_cache", pod=~"$pod"}) and on (namespace, pod) (eureka_drainer_plan_fits_grace_period offset 15m == 0)').metrics).toEqual([
      'eureka_drainer_plan_seconds',
      'eureka_drainer_plan_fits_grace_period',
    ]);
    expect(namesIn('label_values(eureka_drainer_plan_fits_grace_period{namespace=~"$namespace"}, pod)')).toEqual({ metrics: ['eureka_drainer_plan_fits_grace_period'], functions: ['label_values'] });
  });
});
