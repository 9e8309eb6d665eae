import { classify, rank, rankingPlan } from '@shoal/agents';
import { rankingJudge } from '@shoal/agents/testing';
import { createExecutor, type Executor, ShoalConfigError, shortApi } from '@shoal/core';
import { type ShortApiEmulator, startShortApiEmulator } from '@shoal/core/testing';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { isClassifyPrompt, triageReply } from './support/ticket-model.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const judge = rankingJudge({ relevance: (passage) => Number(/score (\d+)/.exec(passage)?.[1] ?? 0) });

async function setup(): Promise<{ emulator: ShortApiEmulator; executor: Executor }> {
  const emulator = await startShortApiEmulator({
    latencyMs: { min: 1, max: 8 },
    rules: [
      { match: (p) => judge.match(p), reply: (p) => judge.reply(p) },
      { match: isClassifyPrompt, reply: triageReply },
    ],
  });
  const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 2 } }), concurrency: 16 });
  cleanups.push(
    () => emulator.close(),
    () => executor.close(),
  );
  return { emulator, executor };
}

const Tickets = z.enum(['billing', 'bug', 'account']);
const tickets = [
  { id: 't1', text: 'I was charged twice, please refund' },
  { id: 't2', text: 'The app crashes when I open settings' },
  { id: 't3', text: 'Cannot login after the password reset' },
  { id: 't4', text: 'Do you ship to Norway?' },
  { id: 't5', text: 'maybe a refund issue' },
];

describe('rank() on the emulator over HTTP', () => {
  it('re-ranks 100 results with the tournament: exact top-10, typed items back, calls and jobs as planned', async () => {
    const { emulator, executor } = await setup();
    const items = Array.from({ length: 100 }, (_, i) => ({ id: `doc-${i}`, text: `result ${i} score ${(i * 37) % 100}`, url: `https://example.com/${i}` }));
    const result = await rank({ query: 'best results', items, topK: 10, executor });
    expectTypeOf(result.ranking[0]!.item).toEqualTypeOf<{ id: string; text: string; url: string }>();
    expect(result.ranking.map((r) => (Number(r.id.slice(4)) * 37) % 100)).toEqual([99, 98, 97, 96, 95, 94, 93, 92, 91, 90]);
    expect(result.ranking[0]!.item.url).toMatch(/^https:/);
    expect({ calls: result.calls, rounds: result.rounds }).toEqual(rankingPlan({ items: 100, topK: 10, strategy: 'tournament' }));
    expect(emulator.stats().creates).toBe(result.calls);
    expect(result.costUsd).toBeGreaterThan(0);
    expect(executor.metrics().costUsd).toBeCloseTo(result.costUsd, 12);
  });

  it('the sliding window gives the same top-10 with 9 calls in 9 rounds', async () => {
    const { executor } = await setup();
    const items = Array.from({ length: 100 }, (_, i) => ({ id: `d${i}`, text: `score ${(i * 37) % 100}` }));
    const result = await rank({ query: 'q', items, strategy: { name: 'sliding-window', window: 20, step: 10 }, executor });
    expect(result.ranking.map((r) => r.item.text)).toEqual([99, 98, 97, 96, 95, 94, 93, 92, 91, 90].map((s) => `score ${s}`));
    expect([result.calls, result.rounds]).toEqual([9, 9]);
  });
});

describe('classify() on the emulator over HTTP', () => {
  it('single label, packed, with confidence and an abstain path', async () => {
    const { emulator, executor } = await setup();
    const result = await classify({ labels: Tickets, items: tickets, executor, pack: 5, confidence: true, other: true, minConfidence: 0.5 });
    const first = result.items[0]!;
    if (first.ok) expectTypeOf(first.label).toEqualTypeOf<'billing' | 'bug' | 'account' | undefined>();
    expect(result.items.map((i) => (i.ok ? [i.id, i.label ?? null, i.abstained] : [i.id, 'failed']))).toEqual([
      ['t1', 'billing', false],
      ['t2', 'bug', false],
      ['t3', 'account', false],
      ['t4', null, 'other'],
      ['t5', null, 'low-confidence'],
    ]);
    expect(result.items[4]).toMatchObject({ modelLabel: 'billing', confidence: 0.3 });
    expect(result).toMatchObject({ calls: 1, packedCalls: 1, abstained: 2, failed: 0, counts: { billing: 1, bug: 1, account: 1 } });
    expect(emulator.stats().creates).toBe(1);
  });

  it('multi-label gives every label that applies, none when none does', async () => {
    const { executor } = await setup();
    const result = await classify({ labels: Tickets, items: ['refund after the app crashed', 'hello there'], executor, multiLabel: true });
    expect(result.items.map((i) => (i.ok ? i.labels : null))).toEqual([['billing', 'bug'], []]);
    expect(result.counts).toEqual({ billing: 1, bug: 1, account: 0 });
  });

  it('multi-label with minConfidence keeps the sure labels; the confidence is theirs', async () => {
    const { executor } = await setup();
    const result = await classify({
      labels: Tickets,
      items: ['refund after the app crashed', 'maybe a refund'],
      executor,
      multiLabel: true,
      confidence: true,
      minConfidence: 0.5,
    });
    expect(result.items[0]).toMatchObject({ ok: true, labels: ['billing', 'bug'], confidence: 0.9, abstained: false });
    expect(result.items[1]).toMatchObject({ ok: true, labels: [], abstained: 'low-confidence', modelLabel: 'billing' });
  });

  it('a packed call whose create answer was lost fails its items, never pays again for each one', async () => {
    const emulator = await startShortApiEmulator({ rules: [{ match: isClassifyPrompt, reply: (p) => ({ text: triageReply(p), dropCreate: true }) }] });
    const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 2 } }) });
    cleanups.push(
      () => emulator.close(),
      () => executor.close(),
    );
    const result = await classify({ labels: Tickets, items: tickets, executor, pack: 5 });
    expect(result.items.map((i) => (i.ok ? 'ok' : i.error.code))).toEqual(Array(5).fill('CREATE_AMBIGUOUS'));
    expect(result.failed).toBe(5);
    expect(emulator.stats().jobs).toBe(1); // the packed job the server made; no single call after it
  });

  it('bad options are refused before any call', async () => {
    const { emulator, executor } = await setup();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ labels: ['billing', 'bug'] }, /zod enum/],
      [{ other: 'bug' }, /already one of the labels/],
      [{ minConfidence: 0.5 }, /needs `confidence: true`/],
      [{ multiLabel: true, other: true }, /single-label/],
      [{ descriptions: { refunds: 'x' } }, /not a label/],
      [{ pack: 0 }, /pack/],
    ];
    for (const [patch, message] of cases) {
      const error = await classify({ labels: Tickets, items: tickets, executor, ...patch } as never).catch((e: unknown) => e);
      expect(ShoalConfigError.isInstance(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    expect(emulator.stats().creates).toBe(0);
  });
});
