import { createExecutor, createRegistry, StructuredOutputError, shortApi } from '@shoal/core';
import { startShortApiEmulator, testAgent } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { draftReply, supportAgents, triage } from '../src/index.js';

// How a plugin author tests: each agent against scripted answers (fast, in memory), then
// the plugin as a whole through a registry and an executor on the emulator (real HTTP).

describe('support.triage', () => {
  it('reads a well-formed answer and applies input defaults', async () => {
    const { result, prompts } = await testAgent(triage, {
      input: { subject: 'Site down', body: 'Nothing loads since 9am, all users affected.' },
      replies: '{"queue":"bug","priority":"urgent","area":"web app","needsHuman":false}',
    });
    expect(result.output).toEqual({ queue: 'bug', priority: 'urgent', area: 'web app', needsHuman: false });
    expect(prompts[0]).toContain('"customerTier":"free"'); // the default was applied before the prompt was built
  });

  it('survives a fenced, mis-cased answer without a second call', async () => {
    // #region docs
    const { result, prompts } = await testAgent(triage, {
      input: { subject: 'Refund', body: 'I want my money back.', customerTier: 'enterprise' },
      replies: 'Sure:\n```json\n{"queue":"Billing","priority":"HIGH","area":"refunds","needsHuman":"true"}\n```',
    });
    expect(result.output).toEqual({ queue: 'billing', priority: 'high', area: 'refunds', needsHuman: true });
    expect(result.stage).toBe('coerced'); // read without a second call
    expect(prompts).toHaveLength(1);
    // #endregion docs
  });

  it('re-asks once, then fails with the raw answer when the model keeps inventing a queue', async () => {
    const error = await testAgent(triage, {
      input: { subject: 'Hi', body: 'Question about invoices' },
      replies: '{"queue":"sales","priority":"low","area":"x","needsHuman":false}',
    }).catch((e: unknown) => e);
    expect(StructuredOutputError.isInstance(error)).toBe(true);
    expect((error as StructuredOutputError).issues[0]!.path).toEqual(['queue']);
  });
});

describe('support.draft-reply', () => {
  it('renders its own prompt for the input', async () => {
    const { result, prompts } = await testAgent(draftReply, {
      input: { subject: 'Export', body: 'How do I export to CSV?' },
      replies: '{"reply":"Hi! Use Settings > Export. — Sam","questions":[]}',
    });
    expect(result.output.reply).toMatch(/Sam$/);
    expect(prompts[0]!.endsWith('Subject: Export\n\nHow do I export to CSV?\n\n(Sign as Sam.)')).toBe(true);
  });
});

describe('the plugin', () => {
  it('registers, lists its agents for a planner, and runs on the emulator', async () => {
    const registry = createRegistry();
    await registry.use(supportAgents);
    expect(registry.list().map((e) => e.name)).toEqual(['support.draft-reply', 'support.triage']);
    expect(registry.list()[1]!.inputSchema).toMatchObject({ properties: { customerTier: { default: 'free' } } });

    const emulator = await startShortApiEmulator({ latencyMs: 5 });
    const executor = createExecutor({ provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 5 } }) });
    try {
      const agent = registry.get('support.triage')!;
      const result = await agent.run({ subject: 'Login loop', body: 'SSO sends me back to the sign-in page.' }, { executor });
      expect(triage.output.parse(result.output)).toEqual(result.output);
      expect(executor.metrics().byTag['support.triage']!.calls).toBe(1);
    } finally {
      await executor.close();
      await emulator.close();
    }
  });
});
