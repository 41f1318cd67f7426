/**
 * bench/timeline-svg.ts, the demo's picture of the drain: synthetic data in, SVG out, rendered to PNG with
 * resvg (a real SVG renderer) and checked by structure and by pixels. No JVMs.
 */
import { existsSync, readdirSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import { COLORS, labelPositions, LAYOUT, niceCeil, panelScale, ratesFromCounts, timelineSize, timelineSvg, type Timeline } from '../../bench/timeline-svg';

/** Cumulative answer counts sampled every 100 ms from a rate function (requests/s at t ms). */
function counts(rate: (tMs: number) => number, fromMs: number, toMs: number, origin = 1_000_000): { at: number; count: number }[] {
  const out: { at: number; count: number }[] = [];
  let count = 0;
  for (let t = fromMs; t <= toMs; t += 100) {
    count += (rate(t) * 100) / 1000;
    out.push({ at: origin + t, count: Math.round(count) });
  }
  return out;
}

const ORIGIN = 1_000_000;
const drainedRate = (t: number): number => (t < 2_000 ? 60 : t < 3_000 ? 60 * (1 - (t - 2_000) / 1_000) : 0);
const stoppedRate = (t: number): number => (t < 200 ? 50 : 0);

const DRAIN_LABELS = ['override put (taking_out)', 'servers verified', 'client window end', 'tail end', 'app SIGTERM', 'clean-up'];

const timeline: Timeline = {
  title: 'eureka-drainer demo: 100 requests/s through Spring Cloud Gateway',
  panels: [
    {
      title: 'with the drainer',
      note: '0 failed of 1200 requests',
      fromMs: -3_000,
      toMs: 8_000,
      series: [
        { name: 'drained instance', kind: 'drained', points: ratesFromCounts(counts(drainedRate, -3_000, 8_000), ORIGIN) },
        { name: 'other instance', kind: 'other', points: ratesFromCounts(counts((t) => 100 - drainedRate(t), -3_000, 8_000), ORIGIN) },
        { name: 'failed', kind: 'failed', points: ratesFromCounts(counts(() => 0, -3_000, 8_000), ORIGIN) },
      ],
      markers: [
        { tMs: 40, label: DRAIN_LABELS[0]! },
        { tMs: 900, label: DRAIN_LABELS[1]! },
        { tMs: 3_950, label: DRAIN_LABELS[2]! },
        { tMs: 4_950, label: DRAIN_LABELS[3]! },
        { tMs: 4_990, label: DRAIN_LABELS[4]! },
        { tMs: 6_200, label: DRAIN_LABELS[5]! },
      ],
    },
    {
      title: 'without the drainer (SIGTERM at once)',
      note: '153 failed of 700 requests',
      fromMs: -3_000,
      toMs: 8_000,
      series: [
        { name: 'stopped instance', kind: 'drained', points: ratesFromCounts(counts(stoppedRate, -3_000, 8_000), ORIGIN) },
        { name: 'replacement', kind: 'other', points: ratesFromCounts(counts((t) => (t < 200 ? 50 : t < 4_000 ? 40 : 100), -3_000, 8_000), ORIGIN) },
        { name: 'failed', kind: 'failed', points: ratesFromCounts(counts((t) => (t >= 200 && t < 4_000 ? 60 : 0), -3_000, 8_000), ORIGIN) },
      ],
      markers: [{ tMs: 0, label: 'app SIGTERM' }],
    },
  ],
};

function pixel(image: { width: number; pixels: Buffer }, x: number, y: number): [number, number, number] {
  const i = (Math.round(y) * image.width + Math.round(x)) * 4;
  return [image.pixels[i]!, image.pixels[i + 1]!, image.pixels[i + 2]!];
}

function hex(color: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16)) as [number, number, number];
}

function near(actual: [number, number, number], expected: [number, number, number], tolerance = 40): boolean {
  return actual.every((v, i) => Math.abs(v - expected[i]!) <= tolerance);
}

/** The polyline points of the series of `kind` in panel `index`, as numbers. */
function polyline(svg: string, index: number, kind: string): [number, number][] {
  const panel = svg.split('<g class="panel"')[index + 1]!;
  const match = new RegExp(`<polyline class="series ${kind}"[^>]* points="([^"]*)"`).exec(panel);
  if (!match) throw new Error(`no ${kind} series in panel ${index}`);
  return match[1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
}

function render(svg: string): { width: number; height: number; pixels: Buffer; png: Buffer } {
  const image = new Resvg(svg, { fitTo: { mode: 'original' }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render();
  return { width: image.width, height: image.height, pixels: Buffer.from(image.pixels), png: Buffer.from(image.asPng()) };
}

describe('ratesFromCounts', () => {
  test('a constant rate reads as that rate; a stop reads as zero after one window', () => {
    const points = ratesFromCounts(counts((t) => (t < 2_000 ? 50 : 0), 0, 5_000), ORIGIN);
    const at = (t: number): number => points.find((p) => p.tMs >= t)!.perSecond;
    expect(at(1_000)).toBeCloseTo(50, 0);
    expect(at(3_000)).toBe(0);
    expect(points.at(-1)!.perSecond).toBe(0);
  });
  test('plots each window at its middle', () => {
    const points = ratesFromCounts([{ at: 0, count: 0 }, { at: 500, count: 5 }, { at: 1_000, count: 10 }, { at: 2_000, count: 10 }], 0, 1_000);
    expect(points.map((p) => p.tMs)).toEqual([250, 500, 1_500]);
    expect(points.map((p) => p.perSecond)).toEqual([10, 10, 0]);
  });
});

describe('timelineSvg', () => {
  const svg = timelineSvg(timeline);

  test('is pure: the same data gives the same string', () => {
    expect(timelineSvg(timeline)).toBe(svg);
  });

  test('two panels side by side, one size', () => {
    expect(timelineSize(timeline)).toEqual({ width: 2 * LAYOUT.panelWidth, height: LAYOUT.headerHeight + LAYOUT.panelHeight + LAYOUT.footerHeight });
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="1280" height="498"/);
    expect(svg.match(/<g class="panel"/g)).toHaveLength(2);
    expect(svg).toContain('with the drainer');
    expect(svg).toContain('without the drainer (SIGTERM at once)');
  });

  test('every phase of the drain is a labelled vertical line at its time', () => {
    const panel = svg.split('<g class="panel"')[1]!;
    const s = panelScale(timeline, 0);
    for (const marker of timeline.panels[0]!.markers) {
      const group = new RegExp(`<g class="marker" data-t-ms="${marker.tMs}">\\s*<line x1="([\\d.]+)"[^>]*y1="([\\d.]+)"[^>]*y2="([\\d.]+)"[^>]*/>\\s*<text[^>]*>([^<]*)</text>`).exec(panel);
      expect(group).not.toBeNull();
      expect(Number(group![1])).toBeCloseTo(s.x(marker.tMs), 1);
      expect([Number(group![2]), Number(group![3])]).toEqual([s.top, s.bottom]);
      expect(group![4]).toBe(marker.label);
    }
    expect(svg.split('<g class="panel"')[2]).toContain('>app SIGTERM</text>');
  });

  test("the drained instance's line falls to the zero line", () => {
    for (const index of [0, 1]) {
      const s = panelScale(timeline, index);
      const points = polyline(svg, index, 'drained');
      expect(Math.min(...points.map(([, y]) => y))).toBeLessThan(s.y(40)); // it served before
      expect(points.at(-1)![1]).toBeCloseTo(s.bottom, 1); // and ends at zero
    }
  });

  test('labels that would overlap are pushed apart', () => {
    expect(labelPositions([10, 12, 13, 100])).toEqual([10, 24, 38, 100]);
  });

  test('niceCeil', () => {
    expect([niceCeil(0), niceCeil(7), niceCeil(101), niceCeil(160), niceCeil(240)]).toEqual([10, 10, 200, 200, 250]);
  });

  test('escapes text', () => {
    const one = timelineSvg({ title: 'a < b & "c"', panels: [{ ...timeline.panels[1]!, markers: [{ tMs: 0, label: '<x>' }] }] });
    expect(one).toContain('a &lt; b &amp; &quot;c&quot;');
    expect(one).toContain('&lt;x&gt;');
  });
});

describe('rendered to PNG by resvg', () => {
  const svg = timelineSvg(timeline);
  const image = render(svg);

  test('a PNG of the declared size, small enough for the README', () => {
    expect(image.png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect([image.png.readUInt32BE(16), image.png.readUInt32BE(20)]).toEqual([1280, 498]);
    expect([image.width, image.height]).toEqual([1280, 498]);
    expect(image.png.length).toBeLessThan(300_000);
  });

  test("the drained line is drawn while it serves and lies on the zero line after the drain", () => {
    const s = panelScale(timeline, 0);
    const drained = hex(COLORS.drained);
    expect(near(pixel(image, s.x(-1_500), s.y(60)), drained)).toBe(true);
    expect(near(pixel(image, s.x(7_000), s.bottom), drained)).toBe(true);
    // The other instance takes the whole load.
    expect(near(pixel(image, s.x(7_000), s.y(100)), hex(COLORS.other))).toBe(true);
    // Without the drainer: failures are drawn while the replacement is not yet routed.
    const u = panelScale(timeline, 1);
    expect(near(pixel(image, u.x(2_000), u.y(60)), hex(COLORS.failed))).toBe(true);
  });

  test('the marker lines are drawn', () => {
    const s = panelScale(timeline, 0);
    // Dashed: some pixel on the first few px of the line carries the marker colour.
    const x = s.x(6_200);
    const hits = Array.from({ length: 8 }, (_, i) => pixel(image, x, s.top + 20 + i)).filter((p) => near(p, hex(COLORS.marker), 60));
    expect(hits.length).toBeGreaterThan(0);
  });

  const fonts = ['/usr/share/fonts', '/usr/local/share/fonts'].some((dir) => existsSync(dir) && readdirSync(dir, { recursive: true }).some((f) => /\.(ttf|otf)$/i.test(String(f))));
  test('the labels are rendered as text (needs a system font, e.g. Debian fonts-dejavu-core)', () => {
    if (!fonts) throw new Error('no .ttf/.otf font under /usr/share/fonts: install one (Debian: apt-get install fonts-dejavu-core) so resvg can draw the labels');
    const withoutText = render(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''));
    let differing = 0;
    for (let i = 0; i < image.pixels.length; i += 4) if (image.pixels[i] !== withoutText.pixels[i]) differing++;
    expect(differing).toBeGreaterThan(5_000);
    // A marker label's area is no longer blank once text is drawn.
    const s = panelScale(timeline, 0);
    const lx = s.x(6_200) + 4;
    let inked = 0;
    for (let y = s.top + 10; y < s.top + 60; y++) for (let x = lx - 12; x < lx + 2; x++) if (!near(pixel(image, x, y), hex(COLORS.background), 30)) inked++;
    expect(inked).toBeGreaterThan(20);
  });
});
