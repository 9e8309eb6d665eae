/**
 * The floor (issue 15): shoal's full path for one structured agent call (input validation,
 * prompt, executor, HTTP, answer parsing, zod) against a minimal hand-written node:http loop
 * doing the same request, on a loopback chat-completions server in a child process. Each
 * contender runs in a process of its own (its CPU and peak RSS are its own), rounds
 * interleaved, at 0 and 50 ms of server latency; medians are quoted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { median } from '../measure.js';
import { ticketAgent } from './agent.js';
import { type Contender, interleaved, ROUNDS, spawnContender, spread } from './spawn.js';

type RowFn = (metric: string, shoal: string, reference: string, target: string, ok: boolean | undefined) => void;
interface Sample {
  readonly cpuUsPerCall: number;
  readonly wallMs: number;
  readonly maxRssMb: number;
  /** How long the server really held each answer, on average (its timer fires a little late). */
  readonly meanHoldMs: number;
}

const N = 2000;
const WARM = 1000;
const IN_FLIGHT = 64;
/** The warm comparison: long enough that the compiler's work is done before the measured calls. */
const STEADY_N = 12_000;
const STEADY_WARM = 6_000;
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const MOCK = fileURLToPath(new URL('./mock-server.ts', import.meta.url));

/** The loopback chat-completions mock, in a child process. */
async function mockServer(latencyMs: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MOCK, String(latencyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`floor bench: the mock server exited with ${code}`)));
  });
  return { url: (JSON.parse(line) as { url: string }).url, child };
}

/** The server's answers and mean hold since the last reading; the reading resets them. */
async function serverStats(url: string): Promise<{ answers: number; meanHoldMs: number }> {
  const response = await fetch(`${url.replace(/\/v1$/, '')}/stats?reset`);
  return (await response.json()) as { answers: number; meanHoldMs: number };
}

/** The request the raw loop sends: the agent's own prompt around the ticket, and its output schema. */
function rawRequest(): string {
  const mark = '\u0000TICKET\u0000';
  const prompt = ticketAgent.promptFor({ ticket: mark });
  const [prefix, suffix] = prompt.split(JSON.stringify(mark).slice(1, -1));
  if (suffix === undefined) throw new Error('floor bench: the ticket was not found in the prompt');
  return JSON.stringify({ prefix, suffix, schema: ticketAgent.metadata().outputSchema });
}

async function contender(name: Contender, url: string, request: string, n = N, warm = WARM): Promise<Sample> {
  await serverStats(url);
  const sample = await runContender(name, url, request, n, warm);
  // The warm-up's answers are in the mean too: the same server, the same timers.
  return { ...sample, meanHoldMs: (await serverStats(url)).meanHoldMs };
}

function runContender(name: Contender, url: string, request: string, n: number, warm: number): Promise<Omit<Sample, 'meanHoldMs'>> {
  return spawnContender(CHILD, [name, url, String(n), String(warm), String(IN_FLIGHT)], { ...process.env, FLOOR_REQUEST: request });
}

export async function floorRows(row: RowFn, log: (text: string) => void): Promise<void> {
  const request = rawRequest();
  for (const latencyMs of [0, 50]) {
    const server = await mockServer(latencyMs);
    try {
      const samples = await interleaved((name) => contender(name, server.url, request));
      const of = (name: Contender, key: keyof Sample) => median(samples[name].map((s) => s[key]));
      const cpuSpread = (name: Contender) => spread(samples[name].map((s) => s.cpuUsPerCall));
      const [shoalCpu, rawCpu] = [of('shoal', 'cpuUsPerCall'), of('raw', 'cpuUsPerCall')];
      log(
        `  floor ${latencyMs} ms: shoal ${samples.shoal.map((s) => s.cpuUsPerCall.toFixed(0)).join(', ')} us; raw ${samples.raw.map((s) => s.cpuUsPerCall.toFixed(0)).join(', ')} us`,
      );
      row(
        `Floor: agent.run() on openAICompatible(), ${latencyMs} ms, ${N} calls at ${IN_FLIGHT} (median of ${ROUNDS}, own processes): CPU per call`,
        `${shoalCpu.toFixed(0)} us (${cpuSpread('shoal')})`,
        `raw node:http loop + JSON.parse + zod ${rawCpu.toFixed(0)} us (${cpuSpread('raw')})`,
        '<= 1.0x raw',
        shoalCpu <= rawCpu,
      );
      row(
        '  ratio shoal / raw',
        `${(shoalCpu / rawCpu).toFixed(2)}x`,
        'outside harness, 2026-12: openai SDK 3.3-4.2x, AI SDK 4.2-5.6x',
        '<= 1.0x',
        shoalCpu <= rawCpu,
      );
      if (latencyMs > 0) {
        // The ideal: every worker's calls back to back, each held exactly as long as the server held it. Node's timers
        // fire late (about 0.2 ms at 50 ms here), which no client wins back; over the nominal ceil(N/C) x latency it is shown too.
        const rounds = Math.ceil(N / IN_FLIGHT);
        const nominal = rounds * latencyMs;
        const ideal = rounds * of('shoal', 'meanHoldMs');
        const over = (ms: number, base: number) => `+${((ms / base - 1) * 100).toFixed(1)}%`;
        const shoalWall = of('shoal', 'wallMs');
        const rawWall = of('raw', 'wallMs');
        row(
          `  wall time (ideal ${ideal.toFixed(0)} ms: ${rounds} x the server's mean hold of ${of('shoal', 'meanHoldMs').toFixed(2)} ms)`,
          `${shoalWall.toFixed(0)} ms (${over(shoalWall, ideal)}; ${over(shoalWall, nominal)} over ${nominal} ms)`,
          `raw ${rawWall.toFixed(0)} ms (${over(rawWall, rounds * of('raw', 'meanHoldMs'))}; ${over(rawWall, nominal)} over ${nominal} ms)`,
          '<= +3%',
          shoalWall <= ideal * 1.03,
        );
      }
      const [shoalRss, rawRss] = [of('shoal', 'maxRssMb'), of('raw', 'maxRssMb')];
      row('  peak RSS', `${shoalRss.toFixed(0)} MB`, `raw ${rawRss.toFixed(0)} MB`, '<= raw + 20 MB', shoalRss <= rawRss + 20);
      if (latencyMs === 0) {
        // 2,000 calls after 1,000 of warm-up still pay for the compiler's work (its threads count as the process's CPU),
        // more so for shoal's larger hot path: the same comparison once both are warm, for what each call costs then.
        const warm = await interleaved(async (name) => (await contender(name, server.url, request, STEADY_N, STEADY_WARM)).cpuUsPerCall);
        const [s, r] = [median(warm.shoal), median(warm.raw)];
        row(
          `  warm: ${STEADY_N} calls after ${STEADY_WARM} (median of ${ROUNDS})`,
          `${s.toFixed(0)} us (${(s / r).toFixed(2)}x)`,
          `raw ${r.toFixed(0)} us`,
          '<= 1.0x raw',
          s <= r,
        );
      }
    } finally {
      server.child.kill();
    }
  }
}
