/**
 * One contender of the job-path rows (ShortAPI's create, then query), in a process of its own:
 * `raw` is a hand-written node:http keep-alive loop that creates a job, sleeps the job's known
 * duration, and queries it (again a millisecond later while it is not done); `shoal` is
 * `executor.complete()` on `shortApi()`, which learns the jobs' duration from its warm-up.
 * One JSON line on stdout says what the measured calls cost.
 *
 * argv: contender url apiKey n warm inFlight latencyMs
 */
import http from 'node:http';

const [contender, url, apiKey, nArg, warmArg, inFlightArg, latencyArg] = process.argv.slice(2);
const n = Number(nArg);
const warm = Number(warmArg);
const inFlight = Number(inFlightArg);
const latencyMs = Number(latencyArg);

type Runner = (count: number, label: string) => Promise<void>;

function rawRunner(): Runner {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  const base = new URL(url!);
  const request = (method: string, path: string, body?: string) =>
    new Promise<unknown>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          hostname: base.hostname,
          port: base.port,
          method,
          path,
          headers: { authorization: `Bearer ${apiKey}`, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return async (count, label) => {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const body = JSON.stringify({ model: 'openai/gpt-5.4-nano', args: { prompt: `${label} ${i}` } });
        const created = (await request('POST', '/api/v1/job/create', body)) as { data: { job_id: string } };
        if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
        for (let polls = 0; ; polls++) {
          const answer = (await request('GET', `/api/v1/job/query?id=${created.data.job_id}`)) as { data: { status: number } };
          if (answer.data.status === 2) break;
          if (polls > 1000) throw new Error('raw loop: job never finished');
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
  };
}

async function shoalRunner(): Promise<Runner> {
  const { createExecutor, shortApi } = await import('@shoal/core');
  const executor = createExecutor({ provider: shortApi({ apiKey: apiKey!, baseURL: url! }), concurrency: inFlight, cache: false });
  return async (count, label) => {
    await Promise.all(Array.from({ length: count }, (_, i) => executor.complete({ prompt: `${label} ${i}` })));
  };
}

const run = contender === 'raw' ? rawRunner() : await shoalRunner();
// The warm-up also lets shoal's poll schedule learn how long jobs take.
await run(warm, `warm-${process.pid}`);
const cpu = process.cpuUsage();
const t = performance.now();
await run(n, `measured-${process.pid}`);
const wallMs = performance.now() - t;
const used = process.cpuUsage(cpu);
process.stdout.write(`${JSON.stringify({ cpuUsPerCall: (used.user + used.system) / n, wallMs, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
process.exit(0);
