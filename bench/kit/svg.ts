/**
 * Minimal SVG line charts for bench reports: no dependency, readable in any Markdown viewer.
 */
export interface Series {
  name: string;
  points: [number, number][];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];
const W = 720;
const H = 320;
const M = { top: 36, right: 150, bottom: 44, left: 70 };

export function lineChart({ title, xLabel, yLabel, series, logX = false, markers = false }: { title: string; xLabel: string; yLabel: string; series: Series[]; logX?: boolean; /** A dot on every point (sparse series: a single point draws no line). */ markers?: boolean }): string {
  const all = series.flatMap((s) => s.points);
  const fx = logX ? (x: number) => Math.log10(x) : (x: number) => x;
  const xs = all.map(([x]) => fx(x));
  const ys = all.map(([, y]) => y);
  const [x0, x1] = all.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const y1 = all.length ? niceCeil(Math.max(...ys, 0)) : 1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((fx(x) - x0) / (x1 - x0 || 1)) * pw;
  const sy = (y: number) => M.top + ph - (y / (y1 || 1)) * ph;
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - M.right / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const t of ticks) {
    const y = M.top + ph - t * ph;
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text x="${M.left - 6}" y="${y + 4}" text-anchor="end">${fmt(t * y1)}</text>`);
    const xv = x0 + t * (x1 - x0);
    parts.push(`<text x="${M.left + t * pw}" y="${M.top + ph + 16}" text-anchor="middle">${fmt(logX ? 10 ** xv : xv)}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    if (s.points.length > 0)
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
    if (markers) for (const [x, y] of s.points) parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<rect x="${W - M.right + 12}" y="${M.top + i * 18}" width="12" height="12" fill="${color}"/>`);
    parts.push(`<text x="${W - M.right + 30}" y="${M.top + i * 18 + 10}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function niceCeil(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (Math.abs(v) >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (Math.abs(v) >= 10) return v.toFixed(0);
  return v.toFixed(Math.abs(v) >= 1 ? 1 : 2);
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
