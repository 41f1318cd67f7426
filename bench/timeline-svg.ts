/**
 * The drain as a picture: pure functions from recorded data to an SVG string (no I/O, no clock), used by
 * `npm run demo` (bench/demo.ts) and rendered to PNG by test/unit/timeline-svg.test.ts.
 *
 * One panel per stop, side by side: requests per second answered by each instance over time (the drained
 * instance's line falls to zero), failed requests per second, and the phases of the stop as labelled vertical
 * lines. All panels share the y scale so they compare at a glance; each has its own time axis, in seconds since
 * the pod's termination began.
 */

export interface RatePoint {
  /** ms since the panel's origin (the termination start); may be negative (before it). */
  readonly tMs: number;
  readonly perSecond: number;
}

export type SeriesKind = 'drained' | 'other' | 'failed';

export interface TimelineSeries {
  readonly name: string;
  readonly kind: SeriesKind;
  readonly points: readonly RatePoint[];
}

export interface TimelineMarker {
  readonly tMs: number;
  readonly label: string;
}

export interface TimelinePanel {
  readonly title: string;
  /** One line under the title, e.g. "0 failed of 1200 requests". */
  readonly note?: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly series: readonly TimelineSeries[];
  readonly markers: readonly TimelineMarker[];
}

export interface Timeline {
  readonly title: string;
  readonly panels: readonly TimelinePanel[];
}

/** Geometry, exported so tests can map data to pixels. */
export const LAYOUT = {
  panelWidth: 640,
  panelHeight: 420,
  headerHeight: 44,
  footerHeight: 34,
  /** Plot area inside a panel. */
  plot: { left: 56, right: 16, top: 84, bottom: 46 },
} as const;

export const COLORS: Readonly<Record<SeriesKind | 'marker' | 'axis' | 'grid' | 'text' | 'background', string>> = {
  drained: '#1f6fd1',
  other: '#2e9e5b',
  failed: '#d62728',
  marker: '#6b6b6b',
  axis: '#333333',
  grid: '#e4e4e4',
  text: '#222222',
  background: '#ffffff',
};

/** A second colour for further healthy instances (a replacement, a third pod). */
const OTHER_SHADES = ['#2e9e5b', '#e08a1e', '#8c56b8', '#17a3a3'];

export interface Size {
  readonly width: number;
  readonly height: number;
}

export function timelineSize(timeline: Timeline): Size {
  return {
    width: Math.max(1, timeline.panels.length) * LAYOUT.panelWidth,
    height: LAYOUT.headerHeight + LAYOUT.panelHeight + LAYOUT.footerHeight,
  };
}

/** A round upper bound for the y axis: 1, 2 or 5 × 10^n, at least `max`. */
export function niceCeil(max: number): number {
  if (!(max > 0)) return 10;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= max) return step * magnitude;
  return 10 * magnitude;
}

/** The scales of one panel: data → pixel coordinates inside the whole picture. */
export interface PanelScale {
  readonly x: (tMs: number) => number;
  readonly y: (perSecond: number) => number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly yMax: number;
}

export function panelScale(timeline: Timeline, index: number): PanelScale {
  const panel = timeline.panels[index];
  if (!panel) throw new Error(`no panel ${index}`);
  const yMax = niceCeil(Math.max(0, ...timeline.panels.flatMap((p) => p.series.flatMap((s) => s.points.map((pt) => pt.perSecond)))));
  const x0 = index * LAYOUT.panelWidth;
  const left = x0 + LAYOUT.plot.left;
  const right = x0 + LAYOUT.panelWidth - LAYOUT.plot.right;
  const top = LAYOUT.headerHeight + LAYOUT.plot.top;
  const bottom = LAYOUT.headerHeight + LAYOUT.panelHeight - LAYOUT.plot.bottom;
  const span = Math.max(1, panel.toMs - panel.fromMs);
  const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));
  return {
    x: (tMs) => left + (clamp(tMs, panel.fromMs, panel.toMs) - panel.fromMs) * ((right - left) / span),
    y: (perSecond) => bottom - clamp(perSecond, 0, yMax) * ((bottom - top) / yMax),
    left,
    right,
    top,
    bottom,
    yMax,
  };
}

/**
 * Requests per second from cumulative counts sampled over time: at each sample, the answers counted since the
 * latest sample at least `windowMs` older (a sliding window, so a 100 ms sampling gives a smooth line), divided
 * by the time between the two, plotted at the window's middle. Samples must be in time order; `origin` becomes
 * t = 0. Pure.
 */
export function ratesFromCounts(
  samples: readonly { readonly at: number; readonly count: number }[],
  origin: number,
  windowMs = 500,
): RatePoint[] {
  const points: RatePoint[] = [];
  let j = 0;
  for (let i = 0; i < samples.length; i++) {
    const now = samples[i]!;
    while (j < i && samples[j + 1]!.at <= now.at - windowMs) j++;
    const then = samples[j]!;
    const span = now.at - then.at;
    if (i === 0 || span <= 0) continue;
    // Plotted at the middle of the window it counts, so a drop shows where it happened, not a window later.
    points.push({ tMs: now.at - span / 2 - origin, perSecond: Math.max(0, ((now.count - then.count) * 1000) / span) });
  }
  return points;
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

/** Tick step in seconds so a panel shows about 6–12 ticks. */
function tickStepSeconds(spanMs: number): number {
  const seconds = spanMs / 1000;
  for (const step of [0.5, 1, 2, 5, 10, 15, 30, 60]) if (seconds / step <= 12) return step;
  return 120;
}

/**
 * Label positions for markers sorted by time: each label sits right of its line; a label closer than
 * `minGap` px to the previous one is pushed right so they never overlap (the line itself stays at its time).
 */
export function labelPositions(xs: readonly number[], minGap = 14): number[] {
  const out: number[] = [];
  for (const x of xs) {
    const previous = out[out.length - 1];
    out.push(previous === undefined ? x : Math.max(x, previous + minGap));
  }
  return out;
}

function panelSvg(timeline: Timeline, index: number): string {
  const panel = timeline.panels[index]!;
  const s = panelScale(timeline, index);
  const x0 = index * LAYOUT.panelWidth;
  const parts: string[] = [];
  parts.push(`<g class="panel" data-index="${index}">`);
  parts.push(
    `<text class="panel-title" x="${x0 + LAYOUT.plot.left}" y="${LAYOUT.headerHeight + 22}" font-size="15" font-weight="bold" fill="${COLORS.text}">${esc(panel.title)}</text>`,
  );
  if (panel.note) {
    parts.push(`<text class="panel-note" x="${x0 + LAYOUT.plot.left}" y="${LAYOUT.headerHeight + 41}" font-size="12" fill="${COLORS.text}">${esc(panel.note)}</text>`);
  }

  // Grid and axes.
  const yStep = s.yMax / 5;
  for (let v = 0; v <= s.yMax + 1e-9; v += yStep) {
    const y = s.y(v);
    parts.push(`<line x1="${fmt(s.left)}" y1="${fmt(y)}" x2="${fmt(s.right)}" y2="${fmt(y)}" stroke="${COLORS.grid}" stroke-width="1"/>`);
    parts.push(`<text x="${fmt(s.left - 6)}" y="${fmt(y + 4)}" font-size="11" text-anchor="end" fill="${COLORS.text}">${fmt(v)}</text>`);
  }
  const step = tickStepSeconds(panel.toMs - panel.fromMs) * 1000;
  for (let t = Math.ceil(panel.fromMs / step) * step; t <= panel.toMs; t += step) {
    const x = s.x(t);
    parts.push(`<line x1="${fmt(x)}" y1="${fmt(s.bottom)}" x2="${fmt(x)}" y2="${fmt(s.bottom + 4)}" stroke="${COLORS.axis}" stroke-width="1"/>`);
    parts.push(`<text x="${fmt(x)}" y="${fmt(s.bottom + 16)}" font-size="11" text-anchor="middle" fill="${COLORS.text}">${fmt(t / 1000)}</text>`);
  }
  parts.push(`<line class="axis-x" x1="${fmt(s.left)}" y1="${fmt(s.bottom)}" x2="${fmt(s.right)}" y2="${fmt(s.bottom)}" stroke="${COLORS.axis}" stroke-width="1"/>`);
  parts.push(`<line class="axis-y" x1="${fmt(s.left)}" y1="${fmt(s.top)}" x2="${fmt(s.left)}" y2="${fmt(s.bottom)}" stroke="${COLORS.axis}" stroke-width="1"/>`);
  parts.push(
    `<text x="${fmt((s.left + s.right) / 2)}" y="${fmt(s.bottom + 34)}" font-size="12" text-anchor="middle" fill="${COLORS.text}">seconds since the pod's termination began</text>`,
  );
  parts.push(
    `<text x="${fmt(x0 + 16)}" y="${fmt((s.top + s.bottom) / 2)}" font-size="12" text-anchor="middle" fill="${COLORS.text}" transform="rotate(-90 ${fmt(x0 + 16)} ${fmt((s.top + s.bottom) / 2)})">requests per second</text>`,
  );

  // Phase markers: dashed vertical lines, labels rotated along them from the top of the plot.
  const markers = [...panel.markers].filter((m) => m.tMs >= panel.fromMs && m.tMs <= panel.toMs).sort((a, b) => a.tMs - b.tMs);
  const labelXs = labelPositions(markers.map((m) => s.x(m.tMs) + 4));
  markers.forEach((m, i) => {
    const x = s.x(m.tMs);
    const lx = labelXs[i]!;
    const ly = s.top + 4;
    parts.push(`<g class="marker" data-t-ms="${Math.round(m.tMs)}">`);
    parts.push(`<line x1="${fmt(x)}" y1="${fmt(s.top)}" x2="${fmt(x)}" y2="${fmt(s.bottom)}" stroke="${COLORS.marker}" stroke-width="1" stroke-dasharray="4 3"/>`);
    parts.push(
      `<text class="marker-label" x="${fmt(lx)}" y="${fmt(ly)}" font-size="11" fill="${COLORS.marker}" stroke="${COLORS.background}" stroke-width="3" paint-order="stroke" transform="rotate(90 ${fmt(lx)} ${fmt(ly)})">${esc(m.label)}</text>`,
    );
    parts.push('</g>');
  });

  // Series last, so they are drawn over the grid, the axis and the markers.
  let shade = 0;
  const ordered = [...panel.series].sort((a, b) => (a.kind === 'drained' ? 1 : 0) - (b.kind === 'drained' ? 1 : 0));
  for (const series of ordered) {
    const color = series.kind === 'other' ? OTHER_SHADES[shade++ % OTHER_SHADES.length]! : COLORS[series.kind];
    const points = series.points
      .filter((p) => p.tMs >= panel.fromMs && p.tMs <= panel.toMs)
      .map((p) => `${fmt(s.x(p.tMs))},${fmt(s.y(p.perSecond))}`)
      .join(' ');
    parts.push(
      `<polyline class="series ${series.kind}" data-name="${esc(series.name)}" points="${points}" fill="none" stroke="${color}" stroke-width="${series.kind === 'drained' ? 3 : 2}" stroke-linejoin="round"/>`,
    );
  }

  // Legend: one row between the note and the plot.
  let lx = s.left;
  shade = 0;
  for (const series of panel.series) {
    const color = series.kind === 'other' ? OTHER_SHADES[shade++ % OTHER_SHADES.length]! : COLORS[series.kind];
    const ly = s.top - 14;
    parts.push(`<g class="legend-item"><rect x="${fmt(lx)}" y="${fmt(ly - 5)}" width="16" height="4" fill="${color}"/>`);
    parts.push(`<text x="${fmt(lx + 21)}" y="${fmt(ly)}" font-size="11" fill="${COLORS.text}">${esc(series.name)}</text></g>`);
    lx += 21 + 7 * series.name.length + 18;
  }
  parts.push('</g>');
  return parts.join('\n');
}

/** The whole picture. Pure: the same data gives the same string. */
export function timelineSvg(timeline: Timeline): string {
  const { width, height } = timelineSize(timeline);
  const body = timeline.panels.map((_, i) => panelSvg(timeline, i)).join('\n');
  const separators = timeline.panels
    .slice(1)
    .map((_, i) => `<line x1="${(i + 1) * LAYOUT.panelWidth}" y1="${LAYOUT.headerHeight}" x2="${(i + 1) * LAYOUT.panelWidth}" y2="${height - 8}" stroke="${COLORS.grid}" stroke-width="1"/>`)
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="${COLORS.background}"/>`,
    `<text class="title" x="16" y="28" font-size="18" font-weight="bold" fill="${COLORS.text}">${esc(timeline.title)}</text>`,
    separators,
    body,
    '</svg>',
    '',
  ].join('\n');
}
