/**
 * The job path (ShortAPI: create, then query) against a raw create + query loop, each
 * contender in a process of its own, rounds interleaved, on the emulator in a child process:
 * CPU per call at 0 ms jobs, and wall time at 50 ms jobs against ceil(N/C) x the job time.
 */
import { fileURLToPath } from 'node:url';
import { childEmulator } from '../emulator-child.js';
import { median } from '../measure.js';
import { type Contender, interleaved, ROUNDS, spawnContender, spread } from './spawn.js';

type RowFn = (metric: string, shoal: string, reference: string, target: string, ok: boolean | undefined) => void;
interface Sample {
  readonly cpuUsPerCall: number;
  readonly wallMs: number;
  readonly maxRssMb: number;
}

const CHILD = fileURLToPath(new URL('./job-child.ts', import.meta.url));
const IN_FLIGHT = 64;

/** Both contenders, interleaved rounds, on an emulator of `latencyMs` jobs in a child process. */
async function rounds(latencyMs: number, n: number, warm: number): Promise<Record<Contender, Sample[]>> {
  const emulator = await childEmulator(latencyMs);
  try {
    return await interleaved((name) =>
      spawnContender<Sample>(CHILD, [name, emulator.url, emulator.apiKey, String(n), String(warm), String(IN_FLIGHT), String(latencyMs)]),
    );
  } finally {
    emulator.child.kill();
  }
}

/** CPU per call with 0 ms jobs: shoal must cost no more than the raw loop. */
export async function jobCpuRows(row: RowFn, log: (text: string) => void): Promise<void> {
  const N = 12_000;
  const samples = await rounds(0, N, 3_000);
  const cpu = (name: Contender) => samples[name].map((s) => s.cpuUsPerCall);
  log(
    `  job path 0 ms: shoal ${cpu('shoal')
      .map((x) => x.toFixed(0))
      .join(', ')} us; raw ${cpu('raw')
      .map((x) => x.toFixed(0))
      .join(', ')} us`,
  );
  const [shoal, raw] = [median(cpu('shoal')), median(cpu('raw'))];
  row(
    `CPU per call, ShortAPI job path (create + query), 0 ms jobs, ${N} calls at ${IN_FLIGHT} (median of ${ROUNDS}, own processes)`,
    `${shoal.toFixed(0)} us (${spread(cpu('shoal'))})`,
    `raw node:http create + query loop ${raw.toFixed(0)} us (${spread(cpu('raw'))})`,
    '<= 1.0x raw',
    shoal <= raw,
  );
  row('  ratio shoal / raw', `${(shoal / raw).toFixed(2)}x`, '', '<= 1.0x', shoal <= raw);
}

/** Wall time with 50 ms jobs: the raw loop knows the job time; shoal learns it in its warm-up. */
export async function jobWallRows(row: RowFn, log: (text: string) => void): Promise<void> {
  const N = 2000;
  const LAT = 50;
  const ideal = Math.ceil(N / IN_FLIGHT) * LAT;
  const samples = await rounds(LAT, N, 3_000);
  const wall = (name: Contender) => samples[name].map((s) => s.wallMs);
  log(
    `  job path 50 ms: shoal ${wall('shoal')
      .map((x) => x.toFixed(0))
      .join(', ')} ms; raw ${wall('raw')
      .map((x) => x.toFixed(0))
      .join(', ')} ms`,
  );
  const [shoal, raw] = [median(wall('shoal')), median(wall('raw'))];
  const over = (ms: number) => `+${((ms / ideal - 1) * 100).toFixed(1)}%`;
  row(
    `Wall time, ShortAPI job path, N=${N}, C=${IN_FLIGHT}, ${LAT} ms jobs (ideal ${ideal} ms), median of ${ROUNDS}, own processes`,
    `${shoal.toFixed(0)} ms (${over(shoal)})`,
    `raw loop ${raw.toFixed(0)} ms (${over(raw)})`,
    '<= +5%',
    shoal <= ideal * 1.05,
  );
  row('  ratio shoal / raw loop', `${(shoal / raw).toFixed(3)}x`, '', '', undefined);
}
