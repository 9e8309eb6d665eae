/**
 * The page's CSS. The chart colours are custom properties, read by the inline script too,
 * so a legend's swatch and its line on the canvas are the same colour by construction.
 */
export const STYLES = `
:root {
  --bg: #f4f5f7; --card: #fff; --text: #1f2933; --muted: #616e7c; --line: #e4e7eb; --grid: #eceef1;
  --wait: #b7d0ee; --run: #2b6cb0; --fail: #d64545; --fail-wait: #f2b8b8; --queued: #d69e2e; --limit: #52606d;
  --c0: #d69e2e; --c1: #2b6cb0; --c2: #d64545; --c3: #38a169; --c4: #805ad5; --c5: #718096;
  color-scheme: light;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 650; }
header p { margin: 0; color: var(--muted); }
header dl { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 10px 0 0; }
header dt { color: var(--muted); display: inline; }
header dd { margin: 0 0 0 4px; display: inline; font-weight: 550; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin-top: 16px; }
section h2 { margin: 0 0 10px; font-size: 16px; font-weight: 650; }
section h3 { margin: 16px 0 6px; font-size: 14px; font-weight: 600; }
.notes { list-style: none; padding: 0; margin: 16px 0 0; }
.notes li { padding: 8px 12px; border-radius: 6px; margin-top: 6px; border: 1px solid; }
.notes .warn { background: #fdf0f0; border-color: #f1b5b5; color: #8a1c1c; }
.notes .info { background: #eef4fb; border-color: #c3d7ef; color: #1c4273; }
.totals { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.total { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.total .label { color: var(--muted); font-size: 12px; }
.total .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.total .hint { color: var(--muted); font-size: 11px; }
.total.mismatch { border-color: var(--fail); background: #fdf0f0; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 0 0 8px; color: var(--muted); font-size: 12px; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; background: var(--swatch); }
.legend .dashed::before { height: 0; border-top: 2px dashed var(--swatch); background: none; vertical-align: 3px; }
canvas { display: block; width: 100%; }
.stats { color: var(--muted); margin: 6px 0 0; }
.stats b { color: var(--text); font-weight: 600; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.columns > section { margin-top: 0; }
.row { margin-top: 16px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
table.compact { width: auto; min-width: 320px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
td.msg { color: var(--muted); word-break: break-word; }
tr.failed td:first-child { box-shadow: inset 3px 0 var(--fail); }
.more, .empty { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
footer { color: var(--muted); font-size: 12px; margin-top: 20px; text-align: center; }
`;
