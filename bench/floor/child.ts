/**
 * One contender of the floor bench, in a process of its own (so its CPU and peak RSS are its
 * own): `raw` is a minimal hand-written node:http keep-alive loop (the request built with
 * JSON.stringify, the answer read with JSON.parse twice and checked with zod); `shoal` is
 * `agent.run()` on `openAICompatible()`. Both run `inFlight` workers, each one call after
 * another, warm up, then measure `n` calls; one JSON line on stdout says what it cost.
 *
 * argv: contender url n warm inFlight
 */
import http from 'node:http';

const [contender, url, nArg, warmArg, inFlightArg] = process.argv.slice(2);
const n = Number(nArg);
const warm = Number(warmArg);
const inFlight = Number(inFlightArg);

type Runner = (count: number, offset: number) => Promise<void>;

/** Runs `count` calls, `inFlight` at a time, each worker one after another. */
async function workers(count: number, call: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await call(next++);
    }),
  );
}

async function rawRunner(): Promise<Runner> {
  // Only what a hand-written loop needs: zod for the answer, the prompt text and schema as data.
  const { ticketOutput } = await import('./agent.js');
  const { prefix, suffix, schema } = JSON.parse(process.env.FLOOR_REQUEST ?? '{}') as { prefix: string; suffix: string; schema: unknown };
  const base = new URL(url!);
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  const call = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({
        model: 'bench',
        messages: [{ role: 'user', content: `${prefix}ticket ${i}${suffix}` }],
        response_format: { type: 'json_schema', json_schema: { name: 'bench-label', schema, strict: true } },
      });
      const req = http.request(
        {
          agent,
          hostname: base.hostname,
          port: base.port,
          method: 'POST',
          path: `${base.pathname}/chat/completions`,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { choices: { message: { content: string } }[] };
              const parsed = ticketOutput.safeParse(JSON.parse(payload.choices[0]!.message.content));
              if (!parsed.success) throw new Error('raw loop: invalid answer');
              resolve();
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return (count, offset) => workers(count, (i) => call(offset + i));
}

async function shoalRunner(): Promise<Runner> {
  const { createExecutor, openAICompatible } = await import('@shoal/core');
  const { ticketAgent } = await import('./agent.js');
  const executor = createExecutor({ provider: openAICompatible({ baseURL: url!, model: 'bench' }), concurrency: inFlight, cache: false });
  return (count, offset) =>
    workers(count, async (i) => {
      await ticketAgent.run({ ticket: `ticket ${offset + i}` }, { executor });
    });
}

const run = contender === 'raw' ? await rawRunner() : await shoalRunner();
await run(warm, 10_000_000);
const cpu = process.cpuUsage();
const t = performance.now();
await run(n, 0);
const wallMs = performance.now() - t;
const used = process.cpuUsage(cpu);
process.stdout.write(
  `${JSON.stringify({ cpuUsPerCall: (used.user + used.system) / n, systemUsPerCall: used.system / n, wallMs, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`,
);
process.exit(0);
