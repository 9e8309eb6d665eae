import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { seededRandom } from '@shoal/core/testing';

/** Writes lines (objects as JSON, strings as they are) as a JSONL file, in chunks. */
export async function writeLines(path: string, lines: Iterable<unknown>): Promise<void> {
  const out = createWriteStream(path);
  let chunk: string[] = [];
  for (const line of lines) {
    chunk.push(typeof line === 'string' ? line : JSON.stringify(line));
    if (chunk.length === 10_000) {
      if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
      chunk = [];
    }
  }
  out.end(chunk.length > 0 ? `${chunk.join('\n')}\n` : '');
  await once(out, 'finish');
}

export const header = (extra: Record<string, unknown> = {}) => ({
  ev: 'run',
  v: 1,
  startedAt: 1_790_000_000_000,
  provider: 'shortapi',
  model: 'openai/gpt-5.4-nano',
  concurrency: 64,
  budgetUsd: null,
  ...extra,
});

/** The totals a synthesized record must show, counted while it was made; money in pico-dollars. */
export interface SynthesizedTotals {
  done: number;
  failed: number;
  cached: number;
  deduplicated: number;
  retries: number;
  rateLimited: number;
  jobs: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  pico: bigint;
}

const AGENTS = ['classify.label', 'extract.fields', 'rank.judge', 'summarize.brief'];
/** 429s on polls: in the executor's count (the totals line), never in a retry line. */
const POLL_429S = 17;

/** Exact decimal dollars of a pico-dollar amount. */
export function picoToDecimal(pico: bigint): string {
  const fraction = (pico % 1_000_000_000_000n).toString().padStart(12, '0').replace(/0+$/, '');
  return `${pico / 1_000_000_000_000n}${fraction ? `.${fraction}` : ''}`;
}

/**
 * A run record of `calls` calls in the documented format, from a fixed seed: a call queued
 * every 0.6 ms in three priority lanes, 4% answered from the cache, 2% shared, 5% failing
 * after two paid jobs, 8% retried after a 429; a totals line that agrees. Amounts are whole
 * tenths of a micro-dollar, so the expected cost is exact in pico-dollars.
 */
export function synthesizeRun(calls: number, seed: number): { lines: string[]; totals: SynthesizedTotals } {
  const random = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const tenth = (ms: number) => Math.round(ms * 10) / 10;
  const n: SynthesizedTotals = {
    done: 0,
    failed: 0,
    cached: 0,
    deduplicated: 0,
    retries: 0,
    rateLimited: POLL_429S,
    jobs: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    outputTokens: 0,
    pico: 0n,
  };
  const events: { t: number; line: string }[] = [];
  const at = (t: number, line: Record<string, unknown>) => {
    const rounded = tenth(t);
    events.push({ t: rounded, line: JSON.stringify({ ev: line.ev, ...(line.id === undefined ? {} : { id: line.id }), t: rounded, ...line }) });
  };
  for (let i = 0; i < calls; i++) {
    const id = `call-${i.toString(36).padStart(5, '0')}`;
    const agent = AGENTS[int(0, AGENTS.length - 1)]!;
    const q = i * 0.6;
    const s = q + random() * 200;
    const run = 20 + random() * 400;
    const e = s + run;
    const ms = tenth(e - q);
    at(q, { ev: 'queued', id, priority: int(0, 2), agent, tags: [agent, `batch-${i % 10}`] });
    at(s, { ev: 'started', id, waitMs: tenth(s - q) });
    const tokens = { in: int(40, 400), cachedIn: 0, out: int(5, 80) };
    tokens.cachedIn = int(0, tokens.in);
    const kind = random();
    if (kind < 0.04) {
      // From the cache: the answer's usage is on the line, but no tokens and no money are booked.
      n.done++;
      n.cached++;
      at(s + 0.2, { ev: 'end', id, ms: tenth(s + 0.2 - q), attempts: 0, requests: 0, ...tokens, usd: 0, cached: true });
    } else if (kind < 0.06) {
      n.done++;
      n.deduplicated++;
      at(e, { ev: 'end', id, ms, attempts: 0, requests: 0, ...tokens, usd: 0, dedup: true });
    } else if (kind < 0.11) {
      // Two jobs, both failed and both paid for at create: the call's cost.
      for (const attempt of [1, 2]) {
        const amount = BigInt(int(100, 999)) * 100_000n;
        n.jobs++;
        n.pico += amount;
        at(s + attempt * 5, { ev: 'job', id, job: `job-${id}-${attempt}`, attempt, usd: Number(picoToDecimal(amount)) });
      }
      n.retries++;
      at(s + 6, { ev: 'retry', id, attempt: 1, delayMs: 4, code: 'JOB_FAILED' });
      n.failed++;
      at(e, { ev: 'error', id, ms, attempts: 2, code: 'RETRIES_EXHAUSTED', message: 'Gave up after 2 attempts: the job failed (status 3).' });
    } else {
      let attempts = 1;
      if (random() < 0.08) {
        n.retries++;
        n.rateLimited++;
        attempts = 2;
        at(s + 2, { ev: 'retry', id, attempt: 1, delayMs: 0, code: 'RATE_LIMITED', status: 429 });
      }
      const amount = BigInt(int(100, 999)) * 100_000n;
      const usd = Number(picoToDecimal(amount));
      n.jobs++;
      at(s + 3, { ev: 'job', id, job: `job-${id}`, attempt: attempts, usd });
      n.done++;
      n.pico += amount;
      n.inputTokens += tokens.in;
      n.cachedInputTokens += tokens.cachedIn;
      n.outputTokens += tokens.out;
      at(e, { ev: 'end', id, ms, attempts, requests: attempts + 2, ...tokens, usd });
    }
    if (i > 0 && i % 20_000 === 0)
      at(q, { ev: 'concurrency', ...(i % 40_000 === 0 ? { from: 384, to: 512, reason: 'recovered' } : { from: 512, to: 384, reason: 'rate-limited' }) });
  }
  // Stable: events at the same 0.1 ms keep the order they were made in, as the recorder's would.
  events.sort((a, b) => a.t - b.t);
  const last = events[events.length - 1]?.t ?? 0;
  const { pico, ...counts } = n;
  const totals = { ev: 'totals', t: last, ...counts, costUsd: Number(picoToDecimal(pico)) };
  // About 370 calls run at once (one queued every 0.6 ms, 220 ms each): the limit is above that.
  return {
    lines: [JSON.stringify(header({ label: `synthetic ${calls} calls`, concurrency: 512 })), ...events.map((event) => event.line), JSON.stringify(totals)],
    totals: n,
  };
}
