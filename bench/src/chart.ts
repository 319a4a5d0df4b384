/**
 * The SVG chart of a run (`--svg file`), written as plain SVG text (no dependency):
 *
 * 1. the ping-pong round-trip-time distribution of every row, as a CDF: x is the RTT on a log
 *    scale, y the fraction of round trips at or below it on a percentile scale (0, 50, 90, 99,
 *    99.9 %...; each step up is ten times rarer), so both the median and the tail are visible;
 * 2. when the payload-size section ran, the median RTT of each row against the payload size
 *    (both axes log).
 *
 * Raw node:net rows are dashed, gRPC rows dotted, fastpath rows solid; every row keeps its colour
 * in both panels, and the legend gives its p50 and p99.
 */

export interface ChartRow {
  name: string;
  /** RTT samples in µs, any order. */
  samplesUs: ArrayLike<number>;
  p50: number;
  p99: number;
}

export interface ChartSizeSeries {
  name: string;
  points: Array<{ bytes: number; p50: number }>;
}

export interface ChartInput {
  title: string;
  /** One line under the title: machine, Node, date, settings. */
  subtitle: string;
  /** Ping-pong rows, in table order. */
  rows: ChartRow[];
  /** Payload-size series, in table order (empty when the section did not run). */
  sizes: ChartSizeSeries[];
  /** Ping-pong rows that were skipped or failed: listed under the legend with the status. */
  notRun?: Array<{ name: string; status: string }>;
}

const WIDTH = 1080;
const PLOT_LEFT = 90;
const PLOT_RIGHT = 760;
const LEGEND_LEFT = 785;
const FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif\"";
/** Points drawn per CDF line: enough for a smooth curve, few enough for a small file. */
const CDF_POINTS = 400;

const COLOURS: Record<string, string> = {
  'raw-tcp': '#000000',
  'raw-tcp6': '#7f7f7f',
  'raw-uds': '#8c564b',
  'fastpath-tcp': '#1f77b4',
  'fastpath-uds': '#17becf',
  'fastpath-shm-inline': '#d62728',
  'fastpath-shm-worker': '#ff7f0e',
  'fastpath-shm-adaptive': '#2ca02c',
  'grpc-tcp': '#9467bd',
  'grpc-uds': '#e377c2',
  'raw-tcp-netns': '#bcbd22',
  'fastpath-tcp-netns': '#393b79',
};
const SPARE_COLOURS = ['#bcbd22', '#393b79', '#637939', '#843c39', '#7b4173', '#3182bd', '#e6550d', '#31a354'];

interface Style {
  colour: string;
  dash: string | undefined;
  width: number;
}

/** A row's colour and dash, the same in every panel. */
export function styleOf(name: string, index: number): Style {
  const colour = COLOURS[name] ?? SPARE_COLOURS[index % SPARE_COLOURS.length]!;
  const dash = name.startsWith('raw-') ? '7 4' : name.startsWith('grpc-') ? '2 3' : undefined;
  return { colour, dash, width: name === 'raw-tcp' ? 2.5 : 2 };
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const num = (v: number): string => (Math.round(v * 10) / 10).toString();

/** "800 ns", "3.3 µs", "85 µs", "1.2 ms". */
export function formatLatency(us: number): string {
  if (us < 1) return `${Math.round(us * 1000)} ns`;
  if (us < 10) return `${us.toFixed(1)} µs`;
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 10_000) return `${(us / 1000).toFixed(1)} ms`;
  return `${Math.round(us / 1000)} ms`;
}

function tickLabel(us: number): string {
  if (us < 1) return `${Math.round(us * 1000)} ns`;
  if (us < 1000) return `${us} µs`;
  if (us < 1_000_000) return `${us / 1000} ms`;
  return `${us / 1_000_000} s`;
}

function bytesLabel(bytes: number): string {
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** A log10 axis over [lo, hi] (positive) mapped onto [a, b] pixels. */
function logScale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const l0 = Math.log10(lo);
  const span = Math.log10(hi) - l0 || 1;
  return (v) => a + ((Math.log10(Math.max(v, lo * 1e-3)) - l0) / span) * (b - a);
}

/** Decade bounds around [min, max]: 10^floor(log10 min), 10^ceil(log10 max). */
function decades(min: number, max: number): [number, number] {
  const lo = 10 ** Math.floor(Math.log10(min));
  let hi = 10 ** Math.ceil(Math.log10(max));
  if (hi <= lo) hi = lo * 10;
  return [lo, hi];
}

/** Ticks at 1, 2 and 5 of every decade (labels at 1, 2, 5 when the range is short, else at 1). */
function logTicks(lo: number, hi: number): Array<{ v: number; major: boolean; label: boolean }> {
  const out: Array<{ v: number; major: boolean; label: boolean }> = [];
  const nDecades = Math.round(Math.log10(hi / lo));
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    for (const m of [1, 2, 3, 4, 5, 6, 7, 8, 9]) {
      const v = Math.round(d * m * 1e6) / 1e6;
      if (v > hi * 1.0001) break;
      out.push({ v, major: m === 1, label: m === 1 || (nDecades <= 3 && (m === 2 || m === 5)) });
    }
  }
  return out;
}

/** The percentile scale: t(p) = -log10(1 - p); 0 % -> 0, 90 % -> 1, 99 % -> 2, 99.9 % -> 3. */
const pctScale = (p: number): number => (p <= 0 ? 0 : -Math.log10(1 - p));

/** Points of a row's CDF as (RTT µs, t) pairs, t on the percentile scale; the last point is the max. */
export function cdfPoints(samplesUs: ArrayLike<number>, points = CDF_POINTS): Array<[number, number]> {
  const sorted = Float64Array.from(samplesUs).sort();
  const n = sorted.length;
  if (n === 0) return [];
  const top = Math.log10(n); // t of rank n-1 out of n, i.e. p = (n-1)/n... the max
  const out: Array<[number, number]> = [];
  let last = -1;
  for (let k = 0; k <= points; k++) {
    const p = 1 - 10 ** -((top * k) / points);
    const i = Math.min(n - 1, Math.floor(p * n));
    if (i === last) continue;
    last = i;
    out.push([sorted[i]!, pctScale(i / n)]);
  }
  if (last !== n - 1) out.push([sorted[n - 1]!, pctScale((n - 1) / n)]);
  return out;
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${num(x)}" y="${num(y)}" ${attrs}>${escapeXml(content)}</text>`;
}

function polyline(points: Array<[number, number]>, style: Style, title: string, clip?: string): string {
  const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
  const pts = points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
  return `<polyline fill="none" stroke="${style.colour}" stroke-width="${style.width}"${dash} stroke-linejoin="round"${clip ? ` clip-path="url(#${clip})"` : ''} points="${pts}"><title>${escapeXml(title)}</title></polyline>`;
}

function legendEntry(x: number, y: number, style: Style, label: string, detail: string): string {
  const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
  return [
    `<line x1="${x}" y1="${y - 4}" x2="${x + 28}" y2="${y - 4}" stroke="${style.colour}" stroke-width="${style.width + 0.5}"${dash}/>`,
    text(x + 36, y, label, 'font-size="12" fill="#111"'),
    text(WIDTH - 12, y, detail, 'font-size="11" fill="#555" text-anchor="end"'),
  ].join('');
}

/** Panel 1: the ping-pong CDFs. Returns the SVG elements and the height used. */
function cdfPanel(rows: ChartRow[], notRun: Array<{ name: string; status: string }>, top: number, styles: Map<string, Style>): { svg: string[]; height: number } {
  const plotTop = top + 30;
  const plotBottom = plotTop + 380;
  const svg: string[] = [text(PLOT_LEFT, top + 14, 'Ping-pong round-trip time: distribution per row (CDF)', 'font-size="15" font-weight="600" fill="#111"')];
  const curves = rows.map((r) => ({ row: r, pts: cdfPoints(r.samplesUs) })).filter((c) => c.pts.length > 0);
  const notRunLines = notRun.map((r, i) => text(LEGEND_LEFT, plotTop + 12 + (curves.length + i) * 21, `${r.name}: ${r.status}`, 'font-size="12" fill="#888"'));
  if (curves.length === 0) {
    svg.push(text(PLOT_LEFT, plotTop + 30, 'No ping-pong row was measured.', 'font-size="13" fill="#555"'), ...notRunLines);
    return { svg, height: Math.max(80, 30 + (notRun.length + 1) * 21) };
  }
  const minX = Math.min(...curves.map((c) => c.pts[0]![0]));
  const maxX = Math.max(...curves.map((c) => c.pts.at(-1)![0]));
  const [lo, hi] = decades(Math.max(minX, 1e-3), Math.max(maxX, minX * 1.01, 1e-3));
  const x = logScale(lo, hi, PLOT_LEFT, PLOT_RIGHT);
  const topT = Math.max(...curves.map((c) => c.pts.at(-1)![1]), 1);
  const y = (t: number): number => plotBottom - (t / topT) * (plotBottom - plotTop);

  svg.push(`<clipPath id="cdf-clip"><rect x="${PLOT_LEFT}" y="${plotTop - 3}" width="${PLOT_RIGHT - PLOT_LEFT}" height="${plotBottom - plotTop + 6}"/></clipPath>`);
  svg.push(`<rect x="${PLOT_LEFT}" y="${plotTop}" width="${PLOT_RIGHT - PLOT_LEFT}" height="${plotBottom - plotTop}" fill="#fafafa" stroke="#bbb"/>`);
  for (const t of logTicks(lo, hi)) {
    const px = x(t.v);
    svg.push(`<line x1="${num(px)}" y1="${plotTop}" x2="${num(px)}" y2="${plotBottom}" stroke="${t.major ? '#cfcfcf' : '#ececec'}"/>`);
    if (t.label) svg.push(text(px, plotBottom + 16, tickLabel(t.v), `font-size="11" fill="#333" text-anchor="middle"`));
  }
  const pTicks: Array<[number, string]> = [
    [0, '0%'],
    [0.5, '50%'],
    [0.9, '90%'],
    [0.99, '99%'],
    [0.999, '99.9%'],
    [0.9999, '99.99%'],
    [0.99999, '99.999%'],
  ];
  for (const [p, label] of pTicks) {
    const t = pctScale(p);
    if (t > topT + 1e-9) break;
    const py = y(t);
    // A tick right under the top would print over the "max" label.
    if (p > 0.5 && py - y(topT) < 14) continue;
    svg.push(`<line x1="${PLOT_LEFT}" y1="${num(py)}" x2="${PLOT_RIGHT}" y2="${num(py)}" stroke="${p === 0.5 ? '#bdbdbd' : '#e2e2e2'}"/>`);
    svg.push(text(PLOT_LEFT - 8, py + 4, label, 'font-size="11" fill="#333" text-anchor="end"'));
  }
  svg.push(text(PLOT_LEFT - 8, y(topT) + 4, 'max', 'font-size="11" fill="#333" text-anchor="end"'));
  svg.push(text((PLOT_LEFT + PLOT_RIGHT) / 2, plotBottom + 38, 'round-trip time (log scale)', 'font-size="12" fill="#111" text-anchor="middle"'));
  svg.push(
    `<text transform="translate(${PLOT_LEFT - 58},${num((plotTop + plotBottom) / 2)}) rotate(-90)" font-size="12" fill="#111" text-anchor="middle">round trips at or below (percentile scale)</text>`,
  );
  for (const c of curves) {
    const st = styles.get(c.row.name)!;
    svg.push(polyline(c.pts.map(([v, t]) => [x(v), y(t)]), st, `${c.row.name}: p50 ${formatLatency(c.row.p50)}, p99 ${formatLatency(c.row.p99)}`, 'cdf-clip'));
  }
  // The legend, in table order, with each row's p50 and p99.
  svg.push(text(LEGEND_LEFT, plotTop - 8, 'row', 'font-size="11" fill="#555"'));
  svg.push(text(WIDTH - 12, plotTop - 8, 'p50 / p99', 'font-size="11" fill="#555" text-anchor="end"'));
  curves.forEach((c, i) => {
    svg.push(legendEntry(LEGEND_LEFT, plotTop + 12 + i * 21, styles.get(c.row.name)!, c.row.name, `${formatLatency(c.row.p50)} / ${formatLatency(c.row.p99)}`));
  });
  svg.push(...notRunLines);
  return { svg, height: Math.max(plotBottom + 50, plotTop + 12 + (curves.length + notRun.length) * 21) - top };
}

/** Panel 2: median RTT against payload size. */
function sizesPanel(series: ChartSizeSeries[], top: number, styles: Map<string, Style>): { svg: string[]; height: number } {
  const plotTop = top + 30;
  const plotBottom = plotTop + 280;
  const svg: string[] = [text(PLOT_LEFT, top + 14, 'Median round-trip time by payload size', 'font-size="15" font-weight="600" fill="#111"')];
  const all = series.flatMap((s) => s.points);
  const sizes = [...new Set(all.map((p) => p.bytes))].sort((a, b) => a - b);
  const minB = sizes[0]!;
  const maxB = sizes.at(-1)!;
  const bx0 = Math.log2(minB);
  const bSpan = Math.log2(maxB) - bx0 || 1;
  const pad = 20;
  const x = (b: number): number => PLOT_LEFT + pad + ((Math.log2(b) - bx0) / bSpan) * (PLOT_RIGHT - PLOT_LEFT - 2 * pad);
  // A little room above and below, so no point sits on the frame.
  const [lo, hi] = decades(Math.min(...all.map((p) => p.p50)) * 0.8, Math.max(...all.map((p) => p.p50)) * 1.25);
  const yLog = logScale(lo, hi, plotBottom, plotTop);

  svg.push(`<rect x="${PLOT_LEFT}" y="${plotTop}" width="${PLOT_RIGHT - PLOT_LEFT}" height="${plotBottom - plotTop}" fill="#fafafa" stroke="#bbb"/>`);
  for (const t of logTicks(lo, hi)) {
    const py = yLog(t.v);
    svg.push(`<line x1="${PLOT_LEFT}" y1="${num(py)}" x2="${PLOT_RIGHT}" y2="${num(py)}" stroke="${t.major ? '#cfcfcf' : '#ececec'}"/>`);
    if (t.label) svg.push(text(PLOT_LEFT - 8, py + 4, tickLabel(t.v), 'font-size="11" fill="#333" text-anchor="end"'));
  }
  for (const b of sizes) {
    const px = x(b);
    svg.push(`<line x1="${num(px)}" y1="${plotTop}" x2="${num(px)}" y2="${plotBottom}" stroke="#e2e2e2"/>`);
    svg.push(text(px, plotBottom + 16, bytesLabel(b), 'font-size="11" fill="#333" text-anchor="middle"'));
  }
  svg.push(text((PLOT_LEFT + PLOT_RIGHT) / 2, plotBottom + 38, 'payload size (log scale)', 'font-size="12" fill="#111" text-anchor="middle"'));
  svg.push(
    `<text transform="translate(${PLOT_LEFT - 58},${num((plotTop + plotBottom) / 2)}) rotate(-90)" font-size="12" fill="#111" text-anchor="middle">median RTT (log scale)</text>`,
  );
  for (const s of series) {
    const st = styles.get(s.name)!;
    const pts = [...s.points].sort((a, b) => a.bytes - b.bytes);
    if (pts.length === 0) continue;
    svg.push(polyline(pts.map((p): [number, number] => [x(p.bytes), yLog(p.p50)]), st, `${s.name}: ${pts.map((p) => `${bytesLabel(p.bytes)} ${formatLatency(p.p50)}`).join(', ')}`));
    for (const p of pts) svg.push(`<circle cx="${num(x(p.bytes))}" cy="${num(yLog(p.p50))}" r="3" fill="${st.colour}"/>`);
  }
  const biggest = maxB;
  svg.push(text(LEGEND_LEFT, plotTop - 8, 'row', 'font-size="11" fill="#555"'));
  svg.push(text(WIDTH - 12, plotTop - 8, `p50 at ${bytesLabel(minB)} / ${bytesLabel(biggest)}`, 'font-size="11" fill="#555" text-anchor="end"'));
  series.forEach((s, i) => {
    const at = (b: number): string => {
      const p = s.points.find((q) => q.bytes === b);
      return p ? formatLatency(p.p50) : 'n/a';
    };
    svg.push(legendEntry(LEGEND_LEFT, plotTop + 12 + i * 21, styles.get(s.name)!, s.name, `${at(minB)} / ${at(biggest)}`));
  });
  return { svg, height: plotBottom + 50 - top };
}

/** The whole chart as an SVG document. */
export function latencyChart(input: ChartInput): string {
  const styles = new Map<string, Style>();
  for (const name of [...input.rows.map((r) => r.name), ...input.sizes.map((s) => s.name)]) if (!styles.has(name)) styles.set(name, styleOf(name, styles.size));
  const body: string[] = [
    text(PLOT_LEFT - 60, 30, input.title, 'font-size="19" font-weight="700" fill="#111"'),
    text(PLOT_LEFT - 60, 50, input.subtitle, 'font-size="12" fill="#555"'),
    text(PLOT_LEFT - 60, 68, 'Dashed: raw node:net, no framework. Dotted: @grpc/grpc-js. Solid: fastpath. Lower and further left is faster; a steep curve means little jitter.', 'font-size="12" fill="#555"'),
  ];
  let top = 85;
  const cdf = cdfPanel(input.rows, input.notRun ?? [], top, styles);
  body.push(...cdf.svg);
  top += cdf.height + 10;
  const withSizes = input.sizes.filter((s) => s.points.length > 0);
  if (withSizes.length > 0) {
    const sz = sizesPanel(withSizes, top, styles);
    body.push(...sz.svg);
    top += sz.height + 10;
  }
  const height = Math.ceil(top);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
