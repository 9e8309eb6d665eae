// The README's picture of `shoal report`: runs 2,000 calls on the ShortAPI emulator (over real
// HTTP on 127.0.0.1, with some faults), records them, renders the report and saves a 1280-wide
// screenshot of it to docs/images/report.png. `npx tsx scripts/report-screenshot.ts`
// (needs the packages built, and chromium: apt-get install chromium, or CHROMIUM_PATH).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createExecutor, recordRun, shortApi } from '@shoal/core';
import { seededRandom, startShortApiEmulator } from '@shoal/core/testing';
import puppeteer from 'puppeteer-core';
import { writeReport } from '../packages/cli/src/report/index.js';

const CALLS = 2000;
/** Calls still waiting then are abandoned: the picture is taken of what ran. */
const DEADLINE_MS = 120_000;
const OUTPUT = fileURLToPath(new URL('../docs/images/report.png', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Agents as they tag their calls, with the lane each runs in: interactive work first, batch work last. */
const AGENTS = [
  { tag: 'support.reply', priority: 2, share: 0.15 },
  { tag: 'classify.label', priority: 1, share: 0.35 },
  { tag: 'extract.fields', priority: 1, share: 0.2 },
  { tag: 'rank.judge', priority: 0, share: 0.3 },
];

if (!existsSync(CHROMIUM)) throw new Error(`No chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH.`);
const dir = await mkdtemp(join(tmpdir(), 'shoal-report-shot-'));
const random = seededRandom(2026);
const emulator = await startShortApiEmulator({
  latencyMs: { min: 50, max: 400 },
  seed: 11,
  faults: { rateLimit: 0.03, serverError: 0.01, failJob: 0.04 },
});
const executor = createExecutor({
  provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 60 } }),
  concurrency: 32,
  retry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 400 },
});
const record = join(dir, 'run.jsonl');
const recorder = recordRun(executor, record, { label: 'Nightly enrichment (emulator)', truncate: true });
const deadline = AbortSignal.timeout(DEADLINE_MS);

const pick = () => {
  let r = random();
  for (const agent of AGENTS) if ((r -= agent.share) < 0) return agent;
  return AGENTS[AGENTS.length - 1]!;
};
// Each outcome is taken at once: a call that fails during a wave's pause is not an unhandled rejection.
const calls: Promise<'answered' | 'failed'>[] = [];
// Four waves, so the queue fills and drains; one prompt in twelve repeats an earlier one (cache hits, shared jobs).
for (let wave = 0; wave < 4; wave++) {
  for (let i = 0; i < CALLS / 4; i++) {
    const n = wave * (CALLS / 4) + i;
    const agent = pick();
    const prompt = random() < 1 / 12 ? `${agent.tag}: item ${Math.floor(random() * 40)}` : `${agent.tag}: item ${n}`;
    const call = executor.complete({ prompt }, { priority: agent.priority, tags: [agent.tag, `wave-${wave + 1}`], signal: deadline });
    calls.push(
      call.then(
        () => 'answered',
        () => 'failed',
      ),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 2500));
}
const outcomes = await Promise.all(calls);
await recorder.close();
await executor.close();
await emulator.close();

const html = join(dir, 'report.html');
const written = await writeReport(record, html);
const browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900, deviceScaleFactor: 1 });
  await page.goto(`file://${html}`, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="true"]');
  // From the top to the end of the latency chart: the tables below are long and tell less at a glance.
  // The page is not scrolled: the box's y is from the top of the page.
  const box = await (await page.$('section:has(#latency)'))!.boundingBox();
  await mkdir(join(OUTPUT, '..'), { recursive: true });
  await page.screenshot({
    path: OUTPUT as `${string}.png`,
    clip: { x: 0, y: 0, width: 1280, height: Math.ceil(box!.y + box!.height) + 16 },
    captureBeyondViewport: true,
  });
} finally {
  await browser.close();
}
const failed = outcomes.filter((outcome) => outcome === 'failed').length;
console.log(
  `${CALLS} calls (${failed} failed), report ${(written.bytes / 1024).toFixed(0)} KB; screenshot ${OUTPUT} (${((await stat(OUTPUT)).size / 1024).toFixed(0)} KB)`,
);
await rm(dir, { recursive: true, force: true });
