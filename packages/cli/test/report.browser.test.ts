import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecutor, type ExecutorMetrics, recordRun, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunRecord, writeReport } from '../src/report/index.js';
import { header, picoToDecimal, synthesizeRun, writeLines } from './report-record.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let browser: Browser;
let dir: string;

beforeAll(async () => {
  // Not skipped without a browser: CI installs Debian's, and a report nobody opened is not tested.
  if (!existsSync(CHROMIUM))
    throw new Error(`No chromium at ${CHROMIUM}: install it (apt-get install chromium) or point CHROMIUM_PATH at a Chromium or Chrome binary.`);
  dir = await mkdtemp(join(tmpdir(), 'shoal-report-'));
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
});

afterAll(async () => {
  await browser?.close();
});

interface OpenedReport {
  /** `[data-total]` texts by name. */
  readonly totals: Record<string, string>;
  /** Painted (non-transparent) pixels per canvas id. */
  readonly painted: Record<string, number>;
  readonly mismatches: number;
  /** Console errors and uncaught exceptions of the page. */
  readonly errors: string[];
}

/** Opens a report in chromium, waits until its script has drawn everything, and reads it. */
async function open(file: string, screenshot?: string): Promise<OpenedReport> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error instanceof Error ? error.message : String(error)}`));
  try {
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="true"]');
    const totals = await page.$$eval('[data-total]', (elements) =>
      Object.fromEntries(elements.map((e) => [e.getAttribute('data-total'), e.textContent ?? ''])),
    );
    const painted = await page.$$eval('canvas', (canvases) =>
      Object.fromEntries(
        canvases.map((canvas) => {
          const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
          let count = 0;
          for (let i = 3; i < pixels.length; i += 4) if (pixels[i]! > 0) count++;
          return [canvas.id, count];
        }),
      ),
    );
    const mismatches = await page.$$eval('[data-mismatch]', (elements) => elements.length);
    if (screenshot) await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    return { totals, painted, mismatches, errors };
  } finally {
    await page.close();
  }
}

/** The page's totals as the executor's metrics name them. */
function fromMetrics(m: ExecutorMetrics): Record<string, string> {
  return {
    done: String(m.done),
    failed: String(m.failed),
    cached: String(m.cached),
    deduplicated: String(m.deduplicated),
    retries: String(m.retries),
    rateLimited: String(m.rateLimited),
    jobs: String(m.jobs),
    inputTokens: String(m.totals.inputTokens),
    cachedInputTokens: String(m.totals.cachedInputTokens),
    outputTokens: String(m.totals.outputTokens),
    costUsd: m.costUsd.toFixed(6),
  };
}

describe('the HTML run report', () => {
  it("shows a real run's totals as the executor counted them, and draws its charts", async () => {
    await using emulator = await startShortApiEmulator({
      latencyMs: 5,
      seed: 7,
      faults: { rateLimit: 0.05, failJob: 0.05 },
      // Some calls fail for real: their job fails on every attempt (and each attempt's job is charged).
      rules: [{ match: 'always fails', reply: { fail: 'the model could not answer' } }],
    });
    const executor = createExecutor({
      provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }),
      concurrency: 8,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const file = join(dir, 'run.jsonl');
    const recorder = recordRun(executor, file, { label: 'report test', truncate: true });
    const agents = ['classify.label', 'extract.fields', 'rank.judge'];
    const calls = Array.from({ length: 300 }, (_, i) => {
      // Every 10th always fails; every 6th repeats one prompt (answered from the cache, or shared while the first is in flight).
      const prompt = i % 10 === 0 ? `always fails ${i}` : i % 6 === 0 ? 'the same prompt again' : `prompt ${i}`;
      return executor.complete({ prompt }, { priority: i % 3, tags: [agents[i % 3]!, `batch-${i % 2}`] });
    });
    const settled = await Promise.allSettled(calls);
    await recorder.close();
    const metrics = executor.metrics();
    await executor.close();

    expect(settled.filter((s) => s.status === 'rejected').length).toBe(metrics.failed);
    expect(metrics.failed).toBeGreaterThanOrEqual(30);
    expect(metrics.retries).toBeGreaterThan(0);
    expect(metrics.cached + metrics.deduplicated).toBeGreaterThan(0);

    const data = await readRunRecord(file);
    expect(data.mismatches).toEqual([]);
    expect(data.issues).toMatchObject({ malformed: 0, unknown: 0, unfinished: 0, withoutQueued: 0 });
    expect(data.charts.timeline.mode).toBe('calls');
    expect(data.charts.lanes.map((lane) => lane.priority)).toEqual([2, 1, 0]);
    // 300 calls queued at once fill the 8 slots. Calls that joined an identical one hold no slot: those answered by
    // sharing its job are left out, but the record cannot tell which of the calls that shared a cache hit held one.
    const peak = Math.max(...data.charts.running);
    expect(peak).toBeGreaterThanOrEqual(8);
    expect(peak).toBeLessThanOrEqual(8 + metrics.cached);

    const html = join(dir, 'report.html');
    const written = await writeReport(file, html);
    expect(written.calls).toBe(300);
    const screenshot = join(dir, 'report.png');
    const page = await open(html, screenshot);
    console.log(`report screenshot: ${screenshot}`);
    expect(page.errors).toEqual([]);
    expect(page.totals).toEqual(fromMetrics(metrics));
    expect(page.mismatches).toBe(0);
    expect(Object.keys(page.painted).sort()).toEqual(['latency', 'load', 'retries', 'timeline']);
    for (const [id, pixels] of Object.entries(page.painted)) expect(pixels, `canvas #${id}`).toBeGreaterThan(1000);
  });

  it('opens without errors for a run of no calls', async () => {
    const file = join(dir, 'run-empty.jsonl');
    await writeLines(file, [header()]);
    const html = join(dir, 'report-empty.html');
    await writeReport(file, html);
    const page = await open(html);
    expect(page.errors).toEqual([]);
    expect(new Set(Object.values(page.totals))).toEqual(new Set(['0', '0.000000']));
  });

  it('stays light at 100,000 calls and shows their totals', { timeout: 120_000 }, async () => {
    const { lines, totals } = synthesizeRun(100_000, 42);
    const file = join(dir, 'run-100k.jsonl');
    await writeLines(file, lines);
    const html = join(dir, 'report-100k.html');
    const written = await writeReport(file, html);
    console.log(`100,000-call report: ${(written.bytes / 1024).toFixed(0)} KB at ${html}`);
    expect(written.calls).toBe(100_000);
    expect(written.bytes).toBeLessThan(10 * 1024 * 1024);

    await rm(file);
    const page = await open(html, join(dir, 'report-100k.png'));
    expect(page.errors).toEqual([]);
    expect(page.mismatches).toBe(0);
    const { pico, ...counts } = totals;
    expect(page.totals).toEqual({
      ...Object.fromEntries(Object.entries(counts).map(([name, value]) => [name, String(value)])),
      costUsd: Number(picoToDecimal(pico)).toFixed(6),
    });
    for (const [id, pixels] of Object.entries(page.painted)) expect(pixels, `canvas #${id}`).toBeGreaterThan(1000);
  });
});
