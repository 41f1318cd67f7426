/**
 * Spring Boot duration forms: "35s", "500ms", "2m", "1h", "1d", "10us"/"10ns"
 * (rounded), ISO-8601 "PT35S", or a bare number in the property's own unit.
 * Returns milliseconds, or undefined when the text is not a duration.
 */
export type DurationUnit = 'ms' | 's';

const SUFFIX_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIMPLE = /^([+-]?\d+(?:\.\d+)?)\s*(ns|us|ms|s|m|h|d)?$/i;
const ISO = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

export function parseDuration(text: string, bareUnit: DurationUnit): number | undefined {
  const trimmed = text.trim();
  const simple = SIMPLE.exec(trimmed);
  if (simple) {
    const value = Number(simple[1]);
    const suffix = simple[2]?.toLowerCase() ?? bareUnit;
    const factor = SUFFIX_MS[suffix];
    if (factor === undefined || !Number.isFinite(value)) return undefined;
    return Math.round(value * factor);
  }
  const iso = ISO.exec(trimmed);
  if (iso && trimmed.length > 1 && !/T$/i.test(trimmed)) {
    const [, days, hours, minutes, seconds] = iso;
    return Math.round(
      Number(days ?? 0) * SUFFIX_MS.d! +
        Number(hours ?? 0) * SUFFIX_MS.h! +
        Number(minutes ?? 0) * SUFFIX_MS.m! +
        Number(seconds ?? 0) * SUFFIX_MS.s!,
    );
  }
  return undefined;
}

/** "95s", "1.5s", "250ms": the short form used in logs, tables and errors. */
export function formatMs(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)}s`;
  return `${ms}ms`;
}
