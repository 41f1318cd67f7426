import axios from 'axios';
import { withTimeout } from './clock';
import { describeError } from './errors';

/** `name` or `name{label="value",other!="x"}`: which series to add up. */
export interface MetricSelector {
  readonly name: string;
  readonly matchers: readonly { readonly label: string; readonly op: '=' | '!='; readonly value: string }[];
}

export function parseSelector(text: string): MetricSelector {
  const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/.exec(text.trim());
  if (!match) throw new Error(`not a metric selector: ${JSON.stringify(text)}`);
  const matchers: { label: string; op: '=' | '!='; value: string }[] = [];
  for (const part of (match[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(!=|=)\s*"(.*)"$/.exec(part);
    if (!m) throw new Error(`not a label matcher: ${JSON.stringify(part)}`);
    matchers.push({ label: m[1]!, op: m[2] as '=' | '!=', value: m[3]! });
  }
  return { name: match[1]!, matchers };
}

/**
 * Pure: the sum of every sample of the selected series in a Prometheus text
 * exposition, or undefined when no sample matches (the metric is missing, which
 * the tail treats as "cannot tell", never as "idle").
 */
export function sumSelected(exposition: string, selector: MetricSelector): number | undefined {
  let total: number | undefined;
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== selector.name) continue;
    const labels = parseLabels(m[2] ?? '');
    const selected = selector.matchers.every((x) => (x.op === '=' ? labels[x.label] === x.value : labels[x.label] !== x.value));
    if (!selected) continue;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    total = (total ?? 0) + value;
  }
  return total;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(text); m; m = re.exec(text)) labels[m[1]!] = m[2]!.replace(/\\(.)/g, '$1');
  return labels;
}

export type InFlightReading = { readonly ok: true; readonly value: number } | { readonly ok: false; readonly reason: string };

/** Reads the app's in-flight request gauge from its metrics URL. */
export async function readInFlight(url: string, selector: MetricSelector, timeoutMs: number, signal?: AbortSignal): Promise<InFlightReading> {
  try {
    const response = await axios.get<string>(url, {
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
      maxContentLength: 16 * 1024 * 1024,
      headers: { Accept: 'text/plain' },
      signal: withTimeout(timeoutMs, signal),
    });
    if (response.status !== 200) return { ok: false, reason: `HTTP ${response.status} from the metrics URL` };
    const value = sumSelected(String(response.data), selector);
    if (value === undefined) return { ok: false, reason: `metric ${selector.name} not found at the metrics URL` };
    return { ok: true, value };
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    return { ok: false, reason: describeError(error) };
  }
}
