import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as agents from '@shoal/agents';
import * as agentsTesting from '@shoal/agents/testing';
import * as aiSdk from '@shoal/ai-sdk';
import * as bullmq from '@shoal/bullmq';
import * as cli from '@shoal/cli';
import * as core from '@shoal/core';
import * as internal from '@shoal/core/internal';
import * as testing from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';

describe('public API', () => {
  it('exports exactly this list from @shoal/agents and @shoal/agents/testing', () => {
    expect(Object.keys(agents).sort()).toEqual([
      'AGENTS_PACKAGE_VERSION',
      'chunkText',
      'classify',
      'extract',
      'listwiseAgent',
      'pointwiseAgent',
      'rank',
      'rankingPlan',
      'setwiseAgent',
    ]);
    expect(Object.keys(agentsTesting).sort()).toEqual(['rankingJudge']);
  });

  it('reads the agents package version from its package.json', () => {
    const require = createRequire(import.meta.url);
    const { version } = require('@shoal/agents/package.json') as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(agents.AGENTS_PACKAGE_VERSION).toBe(version);
  });

  it('exports exactly this list from @shoal/core (nothing internal leaks)', () => {
    expect(Object.keys(core).sort()).toEqual([
      'AbortError',
      'AgentInputError',
      'AmbiguousCreateError',
      'ApiError',
      'AuthError',
      'BudgetExceededError',
      'ExecutorClosedError',
      'InternalError',
      'JobFailedError',
      'JobNotFoundError',
      'NetworkError',
      'OpenAICompatibleProvider',
      'PlanError',
      'ProtocolError',
      'RateLimitError',
      'RetriesExhaustedError',
      'ServerError',
      'ShoalConfigError',
      'ShoalError',
      'ShortApiProvider',
      'StepFailedError',
      'StoreError',
      'StructuredOutput',
      'StructuredOutputError',
      'TimeoutError',
      'Trace',
      'createCoordinator',
      'createExecutor',
      'createRegistry',
      'defineAgent',
      'definePlugin',
      'formatSummary',
      'handleShutdown',
      'knownPrices',
      'openAICompatible',
      'plannerAgent',
      'recordRun',
      'shortApi',
    ]);
  });

  it('exports exactly this list from @shoal/core/internal (for sibling packages only, not covered by semver)', () => {
    expect(Object.keys(internal).sort()).toEqual([
      'BudgetGate',
      'HttpFailure',
      'JOURNAL_KEY',
      'PrefixCache',
      'RateLimiter',
      'SHORTAPI_DEFAULT_MODEL',
      'Tally',
      'abortError',
      'checkCallOptions',
      'checkRequest',
      'closestName',
      'describeNumberRule',
      'describeValue',
      'expectNumber',
      'failureError',
      'isPlainObject',
      'joinOr',
      'listValues',
      'loadTokenizer',
      'optionError',
      'parseUsdToPico',
      'picoToUsd',
      'providerPrices',
      'rawForError',
      'refuseUnpricedBudget',
      'rejectUnknownKeys',
      'reportListenerError',
      'requestKey',
      'throwForStatus',
      'toShoalError',
      'usdToPico',
      'withoutSecrets',
    ]);
  });

  it('exports exactly this list from @shoal/cli (its bin is the product; these are for programs that embed it)', () => {
    expect(Object.keys(cli).sort()).toEqual(['EXIT', 'buildProgram', 'readRunRecord', 'renderReport', 'writeReport']);
  });

  it('exports exactly this list from @shoal/ai-sdk', () => {
    expect(Object.keys(aiSdk).sort()).toEqual(['AiSdkProvider', 'aiSdk']);
  });

  it('exports exactly this list from @shoal/bullmq', () => {
    expect(Object.keys(bullmq).sort()).toEqual(['PROTOCOL_VERSION', 'bullmqExecutor', 'queueStats', 'startWorker']);
  });

  it('exports exactly this list from @shoal/core/testing', () => {
    expect(Object.keys(testing).sort()).toEqual([
      'SIMULATOR_MODEL',
      'emulatorMain',
      'findSchema',
      'hashString',
      'manualClock',
      'scriptedProvider',
      'seededRandom',
      'simulate',
      'simulateWithSchema',
      'startOpenAICompatibleServer',
      'startShortApiEmulator',
      'testAgent',
    ]);
  });

  it('resolves through the exports map to built files with types', () => {
    const require = createRequire(import.meta.url);
    const pkg = require('@shoal/core/package.json') as { exports: Record<string, { types: string; default: string }> };
    expect(Object.keys(pkg.exports)).toEqual(['.', './testing', './internal', './otel', './package.json']);
    expect(pkg.exports['.']!.types).toBe('./dist/index.d.ts');
    expect(pkg.exports['./internal']!.types).toBe('./dist/internal.d.ts');
    for (const entry of ['.', './testing', './internal', './otel']) expect(Object.keys(pkg.exports[entry]!)[0]).toBe('types');
  });

  it('recognises errors across copies by marker, not by class identity', () => {
    const foreign = Object.assign(new Error('x'), { code: 'RATE_LIMITED', [Symbol.for('shoal.error')]: true });
    expect(core.ShoalError.isInstance(foreign)).toBe(true);
    expect(core.RateLimitError.isInstance(foreign)).toBe(true);
    expect(core.AuthError.isInstance(foreign)).toBe(false);
  });

  it('ships a shoal-emulator bin that serves the protocol', async () => {
    const require = createRequire(import.meta.url);
    const bin = require.resolve('@shoal/core/package.json').replace(/package\.json$/, 'dist/testing/emulator-bin.js');
    const child = spawn(process.execPath, [bin, '--json', '--latency', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()));
        child.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
      });
      const { url, apiKey } = JSON.parse(line) as { url: string; apiKey: string };
      const executor = core.createExecutor({ provider: core.shortApi({ apiKey, baseURL: url }) });
      const result = await executor.complete({ prompt: 'hello from the bin test' });
      expect(result.text).toMatch(/^\[simulated, not a model\]/);
      await executor.close();
    } finally {
      child.kill('SIGTERM');
    }
  });
});
