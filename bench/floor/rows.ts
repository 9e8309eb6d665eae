/**
 * The floor (issue 15): shoal's full path for one structured agent call (input validation,
 * prompt, executor, HTTP, answer parsing, zod) against a minimal hand-written node:http loop
 * doing the same request, on a loopback chat-completions server in a child process. Each
 * contender runs in a process of its own (its CPU and peak RSS are its own), rounds
 * interleaved, at 0 and 50 ms of server latency; medians are quoted.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childEmulator } from '../emulator-child.js';
import { median } from '../measure.js';
import { ticketAgent } from './agent.js';

type RowFn = (metric: string, shoal: string, reference: string, target: string, ok: boolean | undefined) => void;
interface Sample {
  readonly cpuUsPerCall: number;
  readonly wallMs: number;
  readonly maxRssMb: number;
}

const N = 2000;
const WARM = 1000;
const IN_FLIGHT = 64;
const ROUNDS = 3;
/** The warm comparison: long enough that the compiler's work is done before the measured calls. */
const STEADY_N = 12_000;
const STEADY_WARM = 6_000;
const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/** The request the raw loop sends: the agent's own prompt around the ticket, and its output schema. */
function rawRequest(): string {
  const mark = '\u0000TICKET\u0000';
  const prompt = ticketAgent.promptFor({ ticket: mark });
  const [prefix, suffix] = prompt.split(JSON.stringify(mark).slice(1, -1));
  if (suffix === undefined) throw new Error('floor bench: the ticket was not found in the prompt');
  return JSON.stringify({ prefix, suffix, schema: ticketAgent.metadata().outputSchema });
}

function contender(name: 'raw' | 'shoal', url: string, request: string, n = N, warm = WARM): Promise<Sample> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, name, url, String(n), String(warm), String(IN_FLIGHT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FLOOR_REQUEST: request },
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    // Bounded: 2,000 calls at 50 ms and 64 in flight take under 2 s; a minute means something is wrong.
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as Sample);
      else reject(new Error(`floor bench: the ${name} contender exited with ${code}`));
    });
  });
}

export async function floorRows(row: RowFn, log: (text: string) => void): Promise<void> {
  const request = rawRequest();
  for (const latencyMs of [0, 50]) {
    const server = await childEmulator(latencyMs, true);
    try {
      const samples = { raw: [] as Sample[], shoal: [] as Sample[] };
      for (let round = 0; round < ROUNDS; round++) {
        // Interleaved, the order swapped each round: neither contender always runs on a warmer machine.
        const order: ('raw' | 'shoal')[] = round % 2 === 0 ? ['raw', 'shoal'] : ['shoal', 'raw'];
        for (const name of order) samples[name].push(await contender(name, server.url, request));
      }
      const of = (name: 'raw' | 'shoal', key: keyof Sample) => median(samples[name].map((s) => s[key]));
      const spread = (name: 'raw' | 'shoal') => {
        const xs = samples[name].map((s) => s.cpuUsPerCall);
        return `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;
      };
      const [shoalCpu, rawCpu] = [of('shoal', 'cpuUsPerCall'), of('raw', 'cpuUsPerCall')];
      log(
        `  floor ${latencyMs} ms: shoal ${samples.shoal.map((s) => s.cpuUsPerCall.toFixed(0)).join(', ')} us; raw ${samples.raw.map((s) => s.cpuUsPerCall.toFixed(0)).join(', ')} us`,
      );
      row(
        `Floor: agent.run() on openAICompatible(), ${latencyMs} ms, ${N} calls at ${IN_FLIGHT} (median of ${ROUNDS}, own processes): CPU per call`,
        `${shoalCpu.toFixed(0)} us (${spread('shoal')})`,
        `raw node:http loop + JSON.parse + zod ${rawCpu.toFixed(0)} us (${spread('raw')})`,
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
        const ideal = Math.ceil(N / IN_FLIGHT) * latencyMs;
        const over = (ms: number) => `+${((ms / ideal - 1) * 100).toFixed(1)}%`;
        const shoalWall = of('shoal', 'wallMs');
        row(
          `  wall time (ideal ${ideal} ms)`,
          `${shoalWall.toFixed(0)} ms (${over(shoalWall)})`,
          `raw ${of('raw', 'wallMs').toFixed(0)} ms (${over(of('raw', 'wallMs'))})`,
          '<= +3%',
          shoalWall <= ideal * 1.03,
        );
      }
      const [shoalRss, rawRss] = [of('shoal', 'maxRssMb'), of('raw', 'maxRssMb')];
      row('  peak RSS', `${shoalRss.toFixed(0)} MB`, `raw ${rawRss.toFixed(0)} MB`, '<= raw + 20 MB', shoalRss <= rawRss + 20);
      if (latencyMs === 0) {
        // 2,000 calls after 1,000 of warm-up still pay for the compiler's work (its threads count as the process's CPU),
        // more so for shoal's larger hot path: the same comparison once both are warm, for what each call costs then.
        const warm = { raw: [] as number[], shoal: [] as number[] };
        for (let round = 0; round < ROUNDS; round++) {
          const order: ('raw' | 'shoal')[] = round % 2 === 0 ? ['raw', 'shoal'] : ['shoal', 'raw'];
          for (const name of order) warm[name].push((await contender(name, server.url, request, STEADY_N, STEADY_WARM)).cpuUsPerCall);
        }
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
