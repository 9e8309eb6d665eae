import net from 'node:net';
import { inspect } from 'node:util';
import { createCoordinator, createExecutor, defineAgent, type Executor, ShoalError, shortApi } from '@shoal/core';
import { startShortApiEmulator } from '@shoal/core/testing';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

const KEY = 'sk-shoal-RECOGNISABLE-7f3a9c1e5b';

/** Everything reachable from an error: message, stack, fields, causes, nested errors. */
function dumpError(error: unknown, seen = new Set<unknown>()): string {
  if (error === null || typeof error !== 'object' || seen.has(error)) return String(error);
  seen.add(error);
  const e = error as Record<string, unknown> & Error;
  const parts = [e.message, e.stack ?? '', JSON.stringify(ShoalError.isInstance(e) ? e.toJSON() : {})];
  for (const [k, v] of Object.entries(e)) parts.push(k, typeof v === 'object' ? dumpError(v, seen) : String(v));
  if (e.cause) parts.push(dumpError(e.cause, seen));
  if (Array.isArray(e.errors)) for (const inner of e.errors) parts.push(dumpError(inner, seen));
  return parts.join('\n');
}

describe('the API key stays secret', () => {
  it('never appears in errors, events, metrics or console output of a faulty workload', async () => {
    const writes: string[] = [];
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    });
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    });
    const emulator = await startShortApiEmulator({
      apiKey: KEY,
      latencyMs: 2,
      seed: 7,
      // Faults, and answers that echo the key back, as a misbehaving proxy might.
      faults: { rateLimit: 0.1, retryAfterSeconds: 0, serverError: 0.1, dropQuery: 0.05, invalidJson: 0.05, failJob: 0.1 },
      rules: [
        { match: 'echo', reply: { fail: `backend rejected Authorization: Bearer ${KEY}` } },
        { match: '', reply: (prompt) => `ok ${prompt}` },
      ],
    });
    const events: string[] = [];
    const collect = (name: string) => (event: unknown) =>
      events.push(`${name} ${JSON.stringify(event, (_k, v) => (ShoalError.isInstance(v) ? dumpError(v) : v))}`);
    const good = createExecutor({
      provider: shortApi({ apiKey: KEY, baseURL: emulator.url, poll: { initialDelayMs: 2 } }),
      retry: { maxAttempts: 2, baseDelayMs: 1 },
    });
    const wrongKey = `${KEY}-wrong`;
    const bad = createExecutor({ provider: shortApi({ apiKey: wrongKey, baseURL: emulator.url }) });
    for (const name of ['call-queued', 'call-start', 'job-created', 'call-retry', 'call-end', 'call-error', 'call-cached'] as const) {
      good.events.on(name, collect(name));
      bad.events.on(name, collect(name));
    }
    const errors: string[] = [];
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 200 }, (_, i) => good.complete({ prompt: i % 10 === 0 ? `echo ${i}` : `p${i}` })),
      ...Array.from({ length: 5 }, (_, i) => bad.complete({ prompt: `bad ${i}` })),
    ]);
    for (const o of outcomes) if (o.status === 'rejected') errors.push(dumpError(o.reason));
    // A bad option error too: its message must not echo the key.
    try {
      shortApi({ apiKey: `has space ${KEY}` });
    } catch (error) {
      errors.push(dumpError(error));
    }
    const metrics = JSON.stringify([good.metrics(), bad.metrics()]);
    await good.close();
    await bad.close();
    await emulator.close();
    out.mockRestore();
    err.mockRestore();
    expect(errors.length).toBeGreaterThan(10);
    expect(errors.some((e) => e.includes('AUTH_FAILED'))).toBe(true);
    expect(events.length).toBeGreaterThan(500);
    const everything = [...errors, ...events, metrics, ...writes].join('\n');
    expect(everything).toContain('[redacted]'); // the echoed key was seen and redacted
    expect(everything).not.toContain(KEY.slice(8)); // not even the key's tail
  });
});

/**
 * A TCP relay on 127.0.0.1 in front of a server, keeping every byte the client sent: what
 * really left shoal, whatever the server chose to record. A connection the server drops
 * is dropped on the client's side too.
 */
async function recordingRelay(targetPort: number) {
  const sent: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      sent.push(chunk);
      upstream.write(chunk);
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', () => {
        sockets.delete(socket);
        end();
      });
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
    sent: () => Buffer.concat(sent).toString('latin1'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        relay.close(() => resolve());
      }),
  };
}

describe('the API key stays secret across every layer', () => {
  it('is in nothing shoal produced or sent, but the Authorization header, under faults, bad answers, callbacks, a wrong key and a failing coordinator run', async () => {
    // Everything printed, by any means, while the workload runs.
    const printed: string[] = [];
    const capture = (chunk: unknown) => {
      printed.push(String(chunk));
      return true;
    };
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation(capture),
      vi.spyOn(process.stderr, 'write').mockImplementation(capture),
      ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
        vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void printed.push(args.map((a) => inspect(a, { depth: 8 })).join(' '))),
      ),
    ];
    const onWarning = (warning: Error) => printed.push(dumpError(warning));
    process.on('warning', onWarning);

    const emulator = await startShortApiEmulator({
      apiKey: KEY,
      latencyMs: { min: 1, max: 8 },
      seed: 11,
      faults: {
        rateLimit: 0.08,
        retryAfterSeconds: 0,
        serverError: 0.08,
        dropCreate: 0.02,
        queryServerError: 0.05,
        dropQuery: 0.03,
        invalidJson: 0.03,
        failJob: 0.06,
        dropCallback: 0.3,
      },
      rules: [
        // A backend that quotes the request's credentials back, in a failure and in an answer.
        { match: 'echo-fail', reply: { fail: `upstream said: Authorization: Bearer ${KEY} is not allowed` } },
        { match: 'LABEL', reply: `Sorry, I cannot label this. (debug: api_key=${KEY})` },
        { match: 'LIST', reply: '{"items":["a","b"]}' },
        { match: '', reply: (prompt) => `ok ${prompt.length}` },
      ],
    });
    const relay = await recordingRelay(emulator.port);

    const labeler = defineAgent({
      name: 'labeler',
      description: 'Labels a text.',
      input: z.object({ text: z.string() }),
      output: z.object({ label: z.string() }),
      instructions: 'LABEL the text.',
    });
    const lister = defineAgent({
      name: 'lister',
      description: 'Lists words.',
      input: z.object({ text: z.string() }),
      output: z.object({ items: z.array(z.string()) }),
      instructions: 'LIST the words.',
    });

    const options = { baseURL: relay.url, poll: { initialDelayMs: 2 } };
    const retry = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
    const polling = createExecutor({ provider: shortApi({ apiKey: KEY, ...options }), retry, cache: false });
    const callbacks = createExecutor({ provider: shortApi({ apiKey: KEY, ...options, callback: { deadlineMs: 300 } }), retry, cache: false });
    const wrongKey = createExecutor({ provider: shortApi({ apiKey: `${KEY}-wrong`, ...options }) });
    const executors: Executor[] = [polling, callbacks, wrongKey];

    const events: string[] = [];
    const record = (source: string, name: string) => (event: unknown) =>
      events.push(
        `${source} ${name} ${JSON.stringify(event, (_key, value) => (ShoalError.isInstance(value) || value instanceof Error ? dumpError(value) : value))}`,
      );
    const names = [
      'call-queued',
      'call-start',
      'job-created',
      'call-retry',
      'call-end',
      'call-cached',
      'call-error',
      'budget-exceeded',
      'concurrency-change',
      'listener-error',
    ] as const;
    executors.forEach((executor, i) => names.forEach((name) => executor.events.on(name, record(`executor${i}`, name))));
    const coordinator = createCoordinator({ executor: polling, agents: [labeler, lister] });
    for (const name of ['span-start', 'span-end'] as const) coordinator.events.on(name, record('coordinator', name));

    const errors: unknown[] = [];
    const keep = async (work: Promise<unknown>) => {
      try {
        return await work;
      } catch (error) {
        errors.push(error);
        return error;
      }
    };
    await Promise.all([
      ...Array.from({ length: 150 }, (_, i) => keep(polling.complete({ prompt: i % 10 === 0 ? `echo-fail ${i}` : `plain ${i}` }))),
      ...Array.from({ length: 40 }, (_, i) => keep(callbacks.complete({ prompt: i % 8 === 0 ? `echo-fail cb ${i}` : `cb ${i}` }))),
      ...Array.from({ length: 3 }, (_, i) => keep(wrongKey.complete({ prompt: `denied ${i}` }))),
      ...Array.from({ length: 5 }, (_, i) => keep(labeler.run({ text: `t${i}` }, { executor: polling }))),
      keep(labeler.runMany([{ text: 'a' }, { text: 'b' }, { text: 'c' }], { executor: callbacks, pack: 3 })).then((result) => {
        for (const item of (result as { items: { ok: boolean; error?: unknown }[] }).items) if (!item.ok) errors.push(item.error);
      }),
    ]);
    // A planned run whose second step gets the bad answer: it fails, and its trace records why.
    const failed = (await keep(
      coordinator.execute({
        steps: [
          { id: 'words', agent: 'lister', input: { text: 'one two' } },
          { id: 'labels', agent: 'labeler', forEach: { $ref: 'words.items' }, input: { text: { $item: '' } } },
        ],
        output: 'labels',
      }),
    )) as { code?: string };
    const flow = coordinator.flow();
    await keep(flow.map(labeler, [{ text: 'x' }, { text: 'y' }]));
    flow.end();
    // Option errors that are handed the key.
    for (const bad of [() => shortApi({ apiKey: `two words ${KEY}` }), () => shortApi({ apiKey: KEY, baseURL: `ftp://${KEY}@example.invalid` })]) {
      try {
        bad();
      } catch (error) {
        errors.push(error);
      }
    }

    const produced = [
      ...errors.map((error) => dumpError(error)),
      ...events,
      JSON.stringify(flow.result().trace),
      ...executors.map((executor) => JSON.stringify(executor.metrics())),
      // What a user might log: the objects themselves.
      ...[...executors, ...executors.map((e) => e.provider), coordinator].map((value) => inspect(value, { depth: Infinity, showHidden: true })),
    ];
    for (const executor of executors) await executor.close();
    coordinator.close();
    await relay.close();
    await emulator.close();
    for (const spy of spies) spy.mockRestore();
    process.off('warning', onWarning);

    // The workload really went through every path.
    const codes = new Set(errors.map((e) => (e as ShoalError).code));
    for (const code of ['AUTH_FAILED', 'STRUCTURED_OUTPUT_INVALID', 'CREATE_AMBIGUOUS', 'CONFIG_INVALID', 'STEP_FAILED']) expect(codes, code).toContain(code);
    expect(failed.code).toBe('STEP_FAILED');
    expect(events.some((e) => e.includes('call-retry'))).toBe(true);
    expect(events.some((e) => e.includes('span-end'))).toBe(true);
    expect(emulator.stats().callbacksSent).toBeGreaterThan(0);
    expect(emulator.stats().unauthorized).toBe(3);

    // The key went out only in the Authorization header (once per request), never elsewhere:
    // not in a prompt, an argument, an idempotency key, a callback URL or a re-ask.
    const wire = relay.sent();
    expect(wire).toContain(`authorization: Bearer ${KEY}`);
    const withoutAuth = wire.replace(/^authorization: Bearer \S+\r$/gim, '');
    expect(withoutAuth).toContain('POST /api/v1/job/create');
    expect(withoutAuth).not.toContain(KEY.slice(8));
    // The same from the emulator's records of what it was sent (its own replies quote the key).
    const received = emulator.jobs.map(({ prompt, args, idempotencyKey, callbackUrl }) => ({ prompt, args, idempotencyKey, callbackUrl }));
    expect(received.length).toBeGreaterThan(200);
    expect(JSON.stringify(received)).not.toContain(KEY.slice(8));

    // And it is nowhere in what shoal produced: errors, events, traces, metrics, objects, print.
    const everything = [...produced, ...printed].join('\n');
    expect(everything).toContain('[redacted]'); // the echoed key was met, and redacted
    expect(everything).not.toContain(KEY.slice(8));
  });
});
