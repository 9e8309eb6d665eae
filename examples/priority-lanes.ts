/**
 * Priority lanes: a few dozen prompts of mixed priority through one executor, with a live
 * progress line and a closing summary. Without SHORTAPI_KEY it runs against the emulator,
 * in-process, and says so first.
 *
 *   npx -y pnpm@12.4.2 example:priority-lanes
 */
import { createExecutor, type ModelProvider, shortApi } from '@shoal/core';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { printSummary } from './shared/backend.js';

const TICKETS = [
  'My invoice shows a double charge for March.',
  'The app crashes when I upload a PNG larger than 10 MB.',
  'How do I export my data to CSV?',
  'I was locked out after resetting my password twice.',
  'Can you add dark mode to the dashboard?',
  'The API returns 502 errors every few minutes since this morning.',
  'Please cancel my subscription at the end of the month.',
  'Search results are in the wrong language.',
  'Our SSO login loops back to the sign-in page.',
  'The mobile app drains the battery overnight.',
  'Is there a discount for non-profits?',
  'Webhook deliveries arrive twice.',
];

type Lane = { name: string; priority: number; instruction: string };
const LANES: Lane[] = [
  { name: 'urgent', priority: 10, instruction: 'Decide in one word whether this support ticket is urgent (yes/no):' },
  { name: 'triage', priority: 5, instruction: 'Label this support ticket as billing, bug, account, feature or question:' },
  { name: 'summary', priority: 0, instruction: 'Summarise this support ticket in at most eight words:' },
  { name: 'reply', priority: -5, instruction: 'Draft a one-sentence friendly first reply to this support ticket:' },
];

async function main() {
  let emulator: ShortApiEmulator | undefined;
  let provider: ModelProvider;
  if (process.env.SHORTAPI_KEY) {
    provider = shortApi();
    console.log(`Using ShortAPI at ${(provider as ReturnType<typeof shortApi>).baseURL} with the key from SHORTAPI_KEY, model ${provider.model}.`);
  } else {
    emulator = await startShortApiEmulator({ latencyMs: { min: 300, max: 800 }, seed: 42, faults: { rateLimit: 0.04, retryAfterSeconds: 0 } });
    console.log(
      `SHORTAPI_KEY is not set: running against the ShortAPI emulator in this process (${emulator.url}); answers come from its offline simulator, not a model, and 4% of creates get a 429 on purpose.`,
    );
    provider = shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url });
  }

  const executor = createExecutor({ provider, concurrency: 8, retry: { baseDelayMs: 100 } });
  const jobs = LANES.flatMap((lane) => TICKETS.map((ticket) => ({ lane, ticket })));
  console.log(`${jobs.length} prompts in ${LANES.length} lanes (priority ${LANES.map((l) => `${l.name} ${l.priority}`).join(', ')}), concurrency 8.\n`);

  const progress = new ProgressLine(jobs.length);
  const timer = setInterval(() => progress.draw(executor.metrics()), 100);
  const started = performance.now();
  const answers = await Promise.allSettled(
    jobs.map(({ lane, ticket }) =>
      executor.complete({ prompt: `${lane.instruction}\n\n${ticket}` }, { priority: lane.priority, tags: [lane.name] }).then((r) => {
        progress.finished(lane.name);
        return r;
      }),
    ),
  );
  clearInterval(timer);
  const m = executor.metrics();
  progress.draw(m, true);
  const wallMs = performance.now() - started;

  console.log('\nFirst answers per lane:');
  for (const lane of LANES) {
    const i = jobs.findIndex((j) => j.lane === lane);
    const a = answers[i]!;
    console.log(`  ${lane.name.padEnd(8)} ${a.status === 'fulfilled' ? a.value.text.slice(0, 110) : `failed: ${(a.reason as Error).message}`}`);
  }
  console.log(`\nLane finish order (median position of each lane's results): ${progress.laneOrder()}`);

  const failed = answers.filter((a) => a.status === 'rejected').length;
  printSummary(m, emulator, wallMs, () => true); // cost per lane: each call carries only its lane's tag

  await executor.close();
  await emulator?.close();
  if (failed > 0) process.exitCode = 1;
}

class ProgressLine {
  readonly #total: number;
  readonly #tty = process.stdout.isTTY === true;
  readonly #order: string[] = [];
  #lastPrinted = -1;

  constructor(total: number) {
    this.#total = total;
  }

  finished(lane: string) {
    this.#order.push(lane);
  }

  laneOrder(): string {
    const positions = new Map<string, number[]>();
    this.#order.forEach((lane, i) => positions.set(lane, [...(positions.get(lane) ?? []), i]));
    return [...positions.entries()]
      .map(([lane, p]) => [lane, p.sort((a, b) => a - b)[Math.floor(p.length / 2)]!] as const)
      .sort((a, b) => a[1] - b[1])
      .map(([lane, median]) => `${lane} (${median})`)
      .join(' → ');
  }

  draw(m: { done: number; failed: number; running: number; queued: number; retries: number; costUsd: number }, final = false) {
    const finished = m.done + m.failed;
    const width = 24;
    const filled = Math.round((finished / this.#total) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${this.#total} · ${m.running} running · ${m.queued} queued · ${m.retries} retries · $${m.costUsd.toFixed(6)}`;
    if (this.#tty) {
      process.stdout.write(`\r${line}${final ? '\n' : ''}`);
    } else {
      // Not a terminal (CI, a pipe): a line at every quarter instead of redrawing.
      const quarter = Math.floor((finished / this.#total) * 4);
      if (quarter !== this.#lastPrinted || final) {
        if (!final || quarter !== this.#lastPrinted) console.log(line);
        this.#lastPrinted = quarter;
      }
    }
  }
}

await main();
