/**
 * The drawing helpers of the page's inline script (plain browser JavaScript, ES2020, kept as
 * text: it runs in the page, never in Node). A canvas sized for the device's pixel ratio,
 * a plot area with a time axis and a count axis, nice tick steps, and labels. Colours come
 * from the page's CSS custom properties (`styles.ts`).
 */
export const CHART_HELPERS = `
const css = getComputedStyle(document.documentElement);
const colour = (name) => css.getPropertyValue('--' + name).trim();
const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const MARGIN = { top: 8, right: 14, bottom: 36 };

function setup(id, height) {
  const canvas = document.getElementById(id);
  const width = Math.max(320, canvas.clientWidth);
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.height = height + 'px';
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = FONT;
  return { ctx, width, height };
}

// 1, 2 or 5 times a power of ten, so that about ticks steps cover span.
function niceStep(span, ticks) {
  const raw = span / Math.max(1, ticks);
  if (!(raw > 0)) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

function timeLabel(ms, step) {
  if (step < 1000 && ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 600000) return +(ms / 1000).toFixed(step < 1000 ? 1 : 0) + ' s';
  const seconds = Math.round(ms / 1000);
  return Math.floor(seconds / 60) + ':' + String(seconds % 60).padStart(2, '0');
}

function durationLabel(ms) {
  return ms >= 1000 ? +(ms / 1000).toPrecision(3) + ' s' : +ms.toPrecision(3) + ' ms';
}

function countLabel(n) {
  if (n >= 1e6) return +(n / 1e6).toFixed(1) + 'M';
  if (n >= 1e4) return +(n / 1e3).toFixed(1) + 'k';
  return String(+n.toFixed(2));
}

// The plot area of a canvas: x maps 0..xMax, y maps 0..yMax (upwards).
function plotArea(c, left, xMax, yMax, right) {
  const f = { x: left, y: MARGIN.top, w: c.width - left - (right || MARGIN.right), h: c.height - MARGIN.top - MARGIN.bottom };
  f.px = (t) => f.x + (xMax > 0 ? Math.min(1, t / xMax) : 0) * f.w;
  f.py = (v) => f.y + f.h - (yMax > 0 ? v / yMax : 0) * f.h;
  return f;
}

// The same plot area on a second scale (a right-hand axis), 0..yMax.
function rescaled(f, yMax) {
  return Object.assign({}, f, { py: (v) => f.y + f.h - (yMax > 0 ? v / yMax : 0) * f.h });
}

function line(ctx, x0, y0, x1, y1) {
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}

function timeAxis(ctx, f, xMax, title) {
  const step = niceStep(xMax, f.w / 110);
  ctx.save();
  ctx.strokeStyle = colour('grid');
  ctx.fillStyle = colour('muted');
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (let i = 0; i * step <= xMax * 1.000001; i++) {
    const x = Math.round(f.px(i * step)) + 0.5;
    line(ctx, x, f.y, x, f.y + f.h);
    ctx.fillText(timeLabel(i * step, step), x, f.y + f.h + 5);
  }
  ctx.strokeStyle = colour('line');
  line(ctx, f.x, f.y + f.h + 0.5, f.x + f.w, f.y + f.h + 0.5);
  ctx.fillText(title, f.x + f.w / 2, f.y + f.h + 21);
  ctx.restore();
}

// Labels for counts 0..yMax, and the axis title written upwards beside them. The left axis draws the
// gridlines; a right-hand one (a second scale) only its labels, in the colour of what it measures.
function valueAxis(ctx, f, yMax, title, right, labelColour) {
  const step = Math.max(1, niceStep(yMax, f.h / 36));
  ctx.save();
  ctx.strokeStyle = colour('grid');
  ctx.fillStyle = labelColour || colour('muted');
  ctx.textAlign = right ? 'left' : 'right';
  ctx.textBaseline = 'middle';
  for (let v = 0; v <= yMax * 1.000001; v += step) {
    const y = Math.round(f.py(v)) + 0.5;
    if (!right) line(ctx, f.x, y, f.x + f.w, y);
    ctx.fillText(countLabel(v), right ? f.x + f.w + 6 : f.x - 6, y);
  }
  ctx.translate(right ? f.x + f.w + 48 : 11, f.y + f.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText(title, 0, 0);
  ctx.restore();
}

function emptyNote(ctx, f, text) {
  ctx.save();
  ctx.fillStyle = colour('muted');
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, f.x + f.w / 2, f.y + f.h / 2);
  ctx.restore();
}

// Per-bucket values as a step line: bucket i spans [i * bucketMs, (i + 1) * bucketMs).
function stepPath(ctx, f, values, bucketMs, xMax) {
  ctx.beginPath();
  values.forEach((v, i) => {
    const x0 = f.px(i * bucketMs);
    const x1 = f.px(Math.min((i + 1) * bucketMs, xMax));
    const y = f.py(v);
    if (i === 0) ctx.moveTo(x0, y);
    else ctx.lineTo(x0, y);
    ctx.lineTo(x1, y);
  });
}

function maxOf(values) {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max;
}
`;
