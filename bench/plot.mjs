// SVG line charts for the benchmark results, drawn by Observable Plot on the server with linkedom as
// its `document`. Plot's colour legend is HTML (a <figure> around the <svg>), so the series are named
// by text marks at the end of each line instead, and the output stays one standalone SVG file.
import * as Plot from '@observablehq/plot';
import { parseHTML, DOMParser } from 'linkedom';

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * lineChart({ title, x: { label, log? }, y: { label, log? }, series: [{ name, points: [[x, y], ...] }] }) => SVG string.
 * Each series is one line with dots at its points and its name at its last point.
 */
export function lineChart({ title, subtitle, x = {}, y = {}, series, width = 780, height = 420 }) {
  const { document } = parseHTML('<!DOCTYPE html><html><head></head><body></body></html>');
  const valid = (s) => s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
  const data = series.flatMap((s) => valid(s).map(([px, py]) => ({ series: s.name, x: px, y: py })));
  const names = series.map((s) => s.name);
  const options = {
    document,
    width,
    height,
    marginTop: title ? 66 : 24,
    marginRight: 190,
    marginLeft: 64,
    marginBottom: 44,
    style: { fontFamily: 'sans-serif', fontSize: '12px', background: 'white' },
    x: { label: x.label, labelAnchor: 'center', type: x.log ? 'log' : 'linear', grid: true, ...(x.log ? { tickFormat: (d) => `${d}` } : {}), ...(x.ticks ? { ticks: x.ticks } : {}), ...(x.domain ? { domain: x.domain } : {}) },
    y: { label: y.label, labelAnchor: 'center', type: y.log ? 'log' : 'linear', grid: true, zero: !y.log, ...(y.domain ? { domain: y.domain } : {}) },
    color: { domain: names, scheme: 'category10' },
  };
  const line = Plot.line(data, { x: 'x', y: 'y', stroke: 'series', strokeWidth: 2, marker: data.length <= 60 ? 'circle' : 'none' });
  // Series names at the ends of their lines, pushed apart vertically (at least 15 px) where ends are close:
  // a first rendering gives the y scale, the names are spread in pixels and mapped back to data values.
  const yScale = Plot.plot({ ...options, marks: [line] }).scale('y');
  const ends = series
    .map((s) => valid(s).at(-1) && { series: s.name, x: valid(s).at(-1)[0], y: valid(s).at(-1)[1] })
    .filter(Boolean)
    .map((e) => ({ ...e, px: yScale.apply(e.y) }))
    .sort((a, b) => a.px - b.px);
  const [top, bottom] = [Math.min(...yScale.range), Math.max(...yScale.range)];
  for (let i = 1; i < ends.length; i++) ends[i].px = Math.max(ends[i].px, ends[i - 1].px + 15);
  const overflow = ends.length ? ends.at(-1).px - bottom : 0;
  if (overflow > 0) for (const e of ends) e.px -= overflow;
  for (let i = ends.length - 2; i >= 0; i--) ends[i].px = Math.min(ends[i].px, ends[i + 1].px - 15);
  for (const e of ends) e.labelY = yScale.invert(Math.max(top - 10, e.px));
  const svg = Plot.plot({
    ...options,
    marks: [
      line,
      Plot.text(ends, { x: 'x', y: 'labelY', text: 'series', fill: 'series', dx: 8, textAnchor: 'start', fontSize: 12, fontWeight: 'bold' }),
      ...(title ? [Plot.text([title], { frameAnchor: 'top-left', dy: -54, fontSize: 15, fontWeight: 'bold', textAnchor: 'start' })] : []),
      ...(subtitle ? [Plot.text([subtitle], { frameAnchor: 'top-left', dy: -36, fontSize: 11, fill: '#555', textAnchor: 'start' })] : []),
    ],
  });
  if (svg.tagName.toLowerCase() !== 'svg') throw new Error(`Plot returned <${svg.tagName}>, not <svg>`);
  svg.setAttribute('xmlns', SVG_NS);
  svg.setAttribute('xmlns:xlink', 'http://www.w3.org/1999/xlink');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.outerHTML}\n`;
}

/** Parses `text` as image/svg+xml and throws unless it is one well-formed <svg> in the SVG namespace. */
export function checkSvg(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const el = doc.documentElement;
  if (!el || el.tagName.toLowerCase() !== 'svg') throw new Error(`not an SVG document: root is ${el?.tagName}`);
  if (el.getAttribute('xmlns') !== SVG_NS) throw new Error('SVG root has no SVG xmlns');
  return true;
}
