// The bullmq bench rows' baseline (rows.ts), in a fresh process as the workers are: core's in-process executor
// runs WARM calls, then N more against the same server, and prints its CPU time per call of those N (µs).
//   node --import tsx packages/bullmq/bench/in-process.ts BASE_URL CONCURRENCY WARM N   (key: SHORTAPI_KEY)
import { createExecutor, shortApi } from '@shoal/core';

const [baseURL, concurrency, warm, n] = process.argv.slice(2);
const executor = createExecutor({ provider: shortApi({ baseURL: baseURL! }), concurrency: Number(concurrency) });
const run = (count: number, label: string) => Promise.all(Array.from({ length: count }, (_, i) => executor.complete({ prompt: `${label} ${i}` })));
await run(Number(warm), 'in-process warm');
const before = process.cpuUsage();
await run(Number(n), 'in-process');
const cpu = process.cpuUsage(before);
console.log(JSON.stringify({ cpuUs: (cpu.user + cpu.system) / Number(n) }));
await executor.close();
