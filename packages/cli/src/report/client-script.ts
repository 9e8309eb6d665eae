import { CHART_HELPERS } from './client-charts.js';

/**
 * The page's inline script (browser JavaScript kept as text): reads the chart data from
 * `#report-data`, draws the four canvases, sets `data-ready` on <body> when done (a test or
 * a screenshot waits on it), and draws again when the window is resized.
 */
const PANELS = `
const data = JSON.parse(document.getElementById('report-data').textContent);
const LANE_GAP = 6;

function laneName(lane) {
  return lane.priority === null || lane.priority === undefined ? 'priority ?' : 'priority ' + lane.priority;
}

function drawTimeline() {
  const tl = data.timeline;
  const heights = data.lanes.map((lane, i) => (tl.mode === 'calls' ? Math.min(220, Math.max(36, tl.rows[i] * 4)) : 84));
  const lanesHeight = heights.reduce((a, b) => a + b, 0) + LANE_GAP * Math.max(0, heights.length - 1);
  const c = setup('timeline', MARGIN.top + MARGIN.bottom + Math.max(40, lanesHeight));
  const f = plotArea(c, 96, data.durationMs, 1);
  const ctx = c.ctx;
  timeAxis(ctx, f, data.durationMs, 'time since the first call');
  if (data.lanes.length === 0) return emptyNote(ctx, f, 'No calls');
  const tops = [];
  let y = f.y;
  data.lanes.forEach((lane, i) => {
    tops.push(y);
    ctx.fillStyle = colour('text');
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(laneName(lane), f.x - 8, y + heights[i] / 2 - 6);
    ctx.fillStyle = colour('muted');
    ctx.fillText(countLabel(lane.calls) + ' calls', f.x - 8, y + heights[i] / 2 + 7);
    y += heights[i] + LANE_GAP;
  });
  if (tl.mode === 'calls') drawCalls(ctx, f, tl, tops, heights);
  else drawLaneBuckets(ctx, f, tl, tops, heights);
}

// Each call a thin bar in its row: light while it waited, solid while it ran, red if it failed.
function drawCalls(ctx, f, tl, tops, heights) {
  const paths = { wait: new Path2D(), run: new Path2D(), 'fail-wait': new Path2D(), fail: new Path2D() };
  for (const [lane, row, q, s, e, failed] of tl.calls) {
    const rowHeight = heights[lane] / tl.rows[lane];
    const y = tops[lane] + row * rowHeight;
    const h = Math.max(1, rowHeight > 3 ? rowHeight - 1 : rowHeight);
    const xq = f.px(q);
    const xs = f.px(s);
    if (xs - xq >= 0.5) paths[failed ? 'fail-wait' : 'wait'].rect(xq, y, xs - xq, h);
    paths[failed ? 'fail' : 'run'].rect(xs, y, Math.max(1, f.px(e) - xs), h);
  }
  for (const name of ['wait', 'run', 'fail-wait', 'fail']) {
    ctx.fillStyle = colour(name);
    ctx.fill(paths[name]);
  }
}

// Per lane and bucket: the most calls running (solid, from the bottom) and waiting (light, above) at once; failures as a red strip.
function drawLaneBuckets(ctx, f, tl, tops, heights) {
  const width = (i) => Math.max(1, f.px((i + 1) * data.bucketMs) - f.px(i * data.bucketMs));
  data.lanes.forEach((lane, l) => {
    const running = tl.running[l];
    const waiting = tl.waiting[l];
    const failed = tl.failed[l];
    let most = 1;
    running.forEach((r, i) => (most = Math.max(most, r + waiting[i])));
    const mostFailed = Math.max(1, maxOf(failed));
    const strip = 5;
    const h = heights[l] - strip - 2;
    const bottom = tops[l] + h;
    running.forEach((r, i) => {
      const x = f.px(i * data.bucketMs);
      const hr = (r / most) * h;
      const hw = (waiting[i] / most) * h;
      ctx.fillStyle = colour('run');
      if (hr > 0) ctx.fillRect(x, bottom - hr, width(i), hr);
      ctx.fillStyle = colour('wait');
      if (hw > 0) ctx.fillRect(x, bottom - hr - hw, width(i), hw);
      if (failed[i] > 0) {
        ctx.globalAlpha = 0.3 + (0.7 * failed[i]) / mostFailed;
        ctx.fillStyle = colour('fail');
        ctx.fillRect(x, bottom + 2, width(i), strip);
        ctx.globalAlpha = 1;
      }
    });
    ctx.fillStyle = colour('muted');
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText('up to ' + countLabel(most) + ' at once', f.x + 4, tops[l] + 1);
  });
}

// Calls queued (left scale) and running, with the effective concurrency (right scale when the queue
// dwarfs them: a queue of thousands would flatten 32 running calls onto the axis).
function drawLoad() {
  const c = setup('load', 230);
  const steps = data.concurrency;
  let runMax = Math.max(1, maxOf(data.running));
  for (const step of steps) runMax = Math.max(runMax, step[1]);
  const queueMax = Math.max(1, maxOf(data.queued));
  const twoScales = queueMax > 3 * runMax;
  const left = (twoScales ? queueMax : Math.max(queueMax, runMax)) * 1.08;
  const f = plotArea(c, 56, data.durationMs, left, twoScales ? 60 : 0);
  // More headroom on the right scale, so that its top does not sit on the queue's peak.
  const right = runMax * 1.4;
  const g = twoScales ? rescaled(f, right) : f;
  const ctx = c.ctx;
  valueAxis(ctx, f, left, twoScales ? 'calls queued' : 'calls', false, twoScales ? colour('queued') : '');
  if (twoScales) valueAxis(ctx, g, right, 'calls running', true, colour('run'));
  timeAxis(ctx, f, data.durationMs, 'time since the first call');
  ctx.lineWidth = 1.5;
  stepPath(ctx, f, data.queued, data.bucketMs, data.durationMs);
  ctx.strokeStyle = colour('queued');
  ctx.stroke();
  ctx.lineTo(f.px(data.durationMs), f.py(0));
  ctx.lineTo(f.px(0), f.py(0));
  ctx.globalAlpha = 0.15;
  ctx.fillStyle = colour('queued');
  ctx.fill();
  ctx.globalAlpha = 1;
  stepPath(ctx, g, data.running, data.bucketMs, data.durationMs);
  ctx.strokeStyle = colour('run');
  ctx.stroke();
  ctx.beginPath();
  steps.forEach(([t, value], i) => {
    if (i === 0) ctx.moveTo(g.px(t), g.py(value));
    else {
      ctx.lineTo(g.px(t), g.py(steps[i - 1][1]));
      ctx.lineTo(g.px(t), g.py(value));
    }
  });
  ctx.lineTo(g.px(data.durationMs), g.py(steps[steps.length - 1][1]));
  ctx.setLineDash([5, 4]);
  ctx.strokeStyle = colour('limit');
  ctx.stroke();
  ctx.setLineDash([]);
}

// Retries per bucket, stacked by code in the legend's order.
function drawRetries() {
  const c = setup('retries', 190);
  const series = data.retries;
  const bucketMs = data.retryBucketMs;
  const totals = [];
  for (const s of series) s.counts.forEach((n, i) => (totals[i] = (totals[i] || 0) + n));
  const yMax = Math.max(1, maxOf(totals));
  const f = plotArea(c, 56, data.durationMs, yMax);
  const ctx = c.ctx;
  valueAxis(ctx, f, yMax, 'retries per ' + durationLabel(bucketMs));
  timeAxis(ctx, f, data.durationMs, 'time since the first call');
  if (series.length === 0) return emptyNote(ctx, f, 'No retries');
  const base = totals.map(() => 0);
  series.forEach((s, k) => {
    ctx.fillStyle = colour('c' + (k % 6));
    s.counts.forEach((n, i) => {
      if (n === 0) return;
      const x = f.px(i * bucketMs) + 0.5;
      const w = Math.max(1, f.px((i + 1) * bucketMs) - x - 0.5);
      const y0 = f.py(base[i]);
      const y1 = f.py(base[i] + n);
      ctx.fillRect(x, y1, w, y0 - y1);
      base[i] += n;
    });
  });
}

// Answered calls per log-spaced duration bucket, with the percentiles marked.
function drawLatency() {
  const c = setup('latency', 210);
  const l = data.latency;
  const yMax = Math.max(1, maxOf(l.counts)) * 1.12;
  const f = plotArea(c, 56, 1, yMax);
  const ctx = c.ctx;
  valueAxis(ctx, f, yMax, 'calls');
  if (l.counts.length === 0) return emptyNote(ctx, f, 'No answered calls');
  const n = l.counts.length;
  const barWidth = f.w / n;
  ctx.fillStyle = colour('run');
  l.counts.forEach((count, i) => {
    if (count === 0) return;
    const y = f.py(count);
    ctx.fillRect(f.x + i * barWidth + 1, y, Math.max(1, barWidth - 2), f.y + f.h - y);
  });
  ctx.fillStyle = colour('muted');
  ctx.strokeStyle = colour('line');
  line(ctx, f.x, f.y + f.h + 0.5, f.x + f.w, f.y + f.h + 0.5);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const every = Math.max(1, Math.ceil(48 / barWidth));
  l.edges.forEach((edge, i) => {
    if (i % every === 0) ctx.fillText(durationLabel(edge), f.x + i * barWidth, f.y + f.h + 5);
  });
  ctx.fillText('call duration, queue wait included (log scale)', f.x + f.w / 2, f.y + f.h + 21);
  const low = Math.log10(l.edges[0]);
  const span = Math.log10(l.edges[n]) - low;
  ctx.textBaseline = 'bottom';
  ctx.setLineDash([3, 3]);
  // Labels on three rows, so that percentiles close together stay readable.
  [['p50', l.p50], ['p95', l.p95], ['p99', l.p99]].forEach(([name, value], row) => {
    const x = f.x + ((Math.log10(Math.max(value, l.edges[0])) - low) / span) * f.w;
    const top = f.y + 10 + row * 12;
    ctx.strokeStyle = colour('text');
    line(ctx, x, top + 1, x, f.y + f.h);
    ctx.fillStyle = colour('text');
    // Near the right edge the label goes left of its line.
    const right = x > f.x + f.w * 0.85;
    ctx.textAlign = right ? 'right' : 'left';
    ctx.fillText(name + ' ' + durationLabel(value), right ? x - 3 : x + 3, top + 1);
  });
  ctx.setLineDash([]);
}

function drawAll() {
  drawTimeline();
  drawLoad();
  drawRetries();
  drawLatency();
  document.body.setAttribute('data-ready', 'true');
}

drawAll();
let pending = 0;
window.addEventListener('resize', () => {
  cancelAnimationFrame(pending);
  pending = requestAnimationFrame(drawAll);
});
`;

/** The whole inline script, in its own scope. */
export const CLIENT_SCRIPT = `(() => {\n'use strict';\n${CHART_HELPERS}\n${PANELS}\n})();`;
