import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startOpenAICompatibleServer, startShortApiEmulator } from '@shoal/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { redisAvailable, startRedis } from '../packages/bullmq/test/redis-server.js';
import { spawnWorker } from '../packages/bullmq/test/workers.js';
import { ROOT } from '../scripts/snippets.js';

/**
 * Every README snippet (examples/snippets/*.ts) run as written, in a child process, as a
 * user without a key runs it: `pnpm snippet <file>` (examples/run-snippet.ts) starts the
 * emulator on 127.0.0.1 and points SHORTAPI_BASE_URL and SHORTAPI_KEY at it. Each run
 * checks what the snippet printed.
 */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const RUNNER = join(ROOT, 'examples/run-snippet.ts');

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs a snippet (through the runner unless `direct`) and resolves with what it printed, once it has exited. */
function runSnippet(name: string, options: { direct?: boolean; cwd?: string; env?: Record<string, string> } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.SHORTAPI_KEY;
  delete env.SHORTAPI_BASE_URL;
  const file = join(ROOT, 'examples/snippets', name);
  const args = ['--import', TSX, ...(options.direct ? [file] : [RUNNER, file])];
  const child = spawn(process.execPath, args, { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The run ended well, said it used the emulator, and printed no error. */
async function ranOffline(name: string, options: Parameters<typeof runSnippet>[1] = {}): Promise<string> {
  const { code, stdout, stderr } = await runSnippet(name, options);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  if (!options.direct)
    expect(stdout.split('\n')[0]).toMatch(/^SHORTAPI_KEY is not set: running .* against the ShortAPI emulator in this process \(http:\/\/127\.0\.0\.1:\d+\)/);
  return stdout;
}

/** The line starting with `prefix`, without it. */
function line(out: string, prefix: string): string {
  const found = out.split('\n').find((l) => l.startsWith(prefix));
  expect(found, `a line starting with "${prefix}" in:\n${out}`).toBeDefined();
  return found!.slice(prefix.length);
}

const tested = new Set<string>();
const snippet = (name: string, title: string, body: () => Promise<void>, skip = false) => {
  tested.add(name);
  it.skipIf(skip)(`${name}: ${title}`, body);
};

describe('each README snippet runs as written', () => {
  snippet('executor.ts', 'one call, with its job, tokens and cost, and the tag in the metrics', async () => {
    const out = await ranOffline('executor.ts');
    expect(out).toMatch(/^job job_\w+: \[simulated, not a model\] \d+ words received; last part: "Label this ticket.*\(\d+ tokens in, \$0\.\d+\)$/m);
    expect(out).toMatch(/^ {2}calls: 1,$/m);
  });

  snippet('agent.ts', 'one ticket triaged, three more in one packed call', async () => {
    const out = await ranOffline('agent.ts');
    expect(out).toMatch(/^(billing|bug|account)(, urgent)? \(\$0\.\d+\)$/m);
    expect(out).toMatch(/^3 of 3 tickets sorted in 1 call\(s\): (billing|bug|account), (billing|bug|account), (billing|bug|account)$/m);
  });

  snippet('coordinator.ts', 'the simulator plans topics → a fan-out of scores → summary, and every step answers', async () => {
    const out = await ranOffline('coordinator.ts');
    expect(line(out, 'plan: ')).toBe('topics (topics) → score (score, fan-out) → summary (summary)');
    const steps = JSON.parse(line(out, 'steps: ')) as { topics: { topics: string[] }; score: { topic: string; score: number }[]; summary: object };
    expect(steps.topics.topics.length).toBeGreaterThanOrEqual(3);
    expect(steps.score).toHaveLength(steps.topics.topics.length);
    for (const s of steps.score) expect(s.score >= 0 && s.score <= 1).toBe(true);
    expect(steps.summary).toEqual({ best: expect.any(Number), count: expect.any(Number) });
    // The planner, the topics, one score per topic, the summary.
    expect(out).toMatch(new RegExp(`^${3 + steps.topics.topics.length} agent runs, \\$0\\.\\d{6} \\{`, 'm'));
  });

  snippet('ready-agents.ts', 'a ranking of the four passages, an extraction, three classified tickets', async () => {
    const out = await ranOffline('ready-agents.ts');
    expect(out).toMatch(/^1\. (moon|table|currents|sun) 2\. (moon|table|currents|sun) \(\d+ calls, \d+ rounds\)$/m);
    expect(out).toMatch(/^total: /m);
    expect(out).toMatch(/^unverified: /m);
    for (const ticket of ['I was charged twice', 'The export button does nothing', 'How do I change my email?'])
      expect(out).toMatch(
        new RegExp(`^${ticket.replace(/\?/g, '\\?')} → ((billing|bug|account) \\((0|1|0\\.\\d+)\\)|abstained \\((other|low-confidence)\\))$`, 'm'),
      );
  });

  snippet('durable-store.ts', 'a first run makes two jobs; a rerun in the same folder takes both from ./run.db', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'shoal-snippet-store-'));
    cleanups.push(async () => rmSync(cwd, { recursive: true, force: true }));
    const first = await ranOffline('durable-store.ts', { cwd });
    expect(first).toMatch(/^job job_\w+, job job_\w+$/m);
    expect(existsSync(join(cwd, 'run.db'))).toBe(true);
    const second = await ranOffline('durable-store.ts', { cwd });
    expect(second).toMatch(/^from the store, from the store$/m);
    expect(second).toMatch(/^\{ resumed: 0, recreated: 0, storeErrors: 0 \}$/m);
  });

  snippet('emulator.ts', 'its own emulator, no key needed: one job', async () => {
    const out = await ranOffline('emulator.ts', { direct: true });
    expect(out).toMatch(/^job_\w+: \[simulated, not a model\] 2 words received; last part: "Say hi"$/m);
    expect(out).toMatch(/^1 job\(s\) created on http:\/\/127\.0\.0\.1:\d+\/?$/m);
  });

  snippet('plugin-on-emulator.ts', "the plugin's agents listed with their plugin, triage answered", async () => {
    const out = await ranOffline('plugin-on-emulator.ts', { direct: true });
    expect(out).toContain("'support.triage (@shoal/example-support-agents@1.0.0)'");
    expect(out).toMatch(/queue: '(billing|bug|account|feature)'/);
    expect(out).toMatch(/needsHuman: (true|false)/);
  });

  snippet('opentelemetry.ts', 'the spans of a planned run reach the SDK: workflow, agents, model jobs', async () => {
    const out = await ranOffline('opentelemetry.ts');
    for (const name of ['invoke_workflow run', 'invoke_agent shoal.planner', 'invoke_agent headline', 'text_completion openai/gpt-5.4-nano', 'poll'])
      expect(out).toContain(`name: '${name}'`);
    expect(out).toMatch(/^trace \d+ spans: \{ headline: '.*' \}$/m);
  });

  snippet(
    'bullmq.ts',
    'a producer on a Redis queue; a shoal-worker makes the job on the emulator',
    async () => {
      const redis = await startRedis();
      cleanups.push(() => redis.close());
      const emulator = await startShortApiEmulator({ latencyMs: 5 });
      cleanups.push(() => emulator.close());
      const worker = await spawnWorker({ redis: redis.url, queue: 'shoal', baseURL: emulator.url, apiKey: emulator.apiKey });
      cleanups.push(async () => {
        worker.child.kill('SIGTERM');
        await worker.exited;
      });
      const out = await ranOffline('bullmq.ts', { direct: true, env: { REDIS_URL: redis.url } });
      expect(out).toMatch(/^sentiment: (positive|neutral|negative)$/m);
      expect(emulator.jobs).toHaveLength(1);
      expect(emulator.jobs[0]!.prompt).toContain('The new release fixed my problem.');
    },
    !redisAvailable,
  );

  snippet('ai-sdk.ts', 'an AI SDK model (@ai-sdk/openai-compatible) behind aiSdk(): one ticket, booked at the given prices', async () => {
    const server = await startOpenAICompatibleServer();
    cleanups.push(() => server.close());
    const out = await ranOffline('ai-sdk.ts', { direct: true, env: { LOCAL_LLM_URL: server.url } });
    const [, tokensIn, tokensOut, cost] = /^(?:billing|bug|account)(?:, urgent)?: (\d+) tokens in, (\d+) out, \$(\S+)$/m.exec(out) ?? [];
    expect(tokensIn, out).toBeDefined();
    // $0.05 in, $0.10 out per million tokens, as the snippet says (no cached tokens on one short call).
    expect(Number(cost)).toBeCloseTo((Number(tokensIn) * 0.05 + Number(tokensOut) * 0.1) / 1e6, 12);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.model).toBe('llama3.1:8b');
    // As a user runs it without a server: `pnpm snippet` starts the loopback server and says so.
    const { code, stdout, stderr } = await runSnippet('ai-sdk.ts');
    expect([code, stderr]).toEqual([0, '']);
    expect(stdout.split('\n')[0]).toMatch(/^LOCAL_LLM_URL is not set: running .* against the loopback chat-completions server in this process/);
    expect(stdout).toMatch(/^(billing|bug|account)(, urgent)?: \d+ tokens in, \d+ out, \$\S+$/m);
  });

  it('every file under examples/snippets has a run here', () => {
    expect(readdirSync(join(ROOT, 'examples/snippets')).filter((file) => !tested.has(file))).toEqual([]);
  });
});
