// Preloaded into the `shoal-worker` bin by the bullmq bench rows (rows.ts): `node --import tsx --import
// this-file dist/worker-bin.js ...`. Over IPC, `mark` starts a reading and `report` answers with the CPU
// time and, when SHOAL_BENCH_TRIPS=1, the process's round trips to Redis since (a WorkerReport). Counting
// costs CPU of its own: the runs whose CPU is compared do not count.
import { countRoundTrips, type RoundTrips } from './round-trips.js';

export interface WorkerReport {
  readonly cpuMs: number;
  readonly roundTrips: RoundTrips;
}

const reading = process.env.SHOAL_BENCH_TRIPS === '1' ? countRoundTrips() : (): RoundTrips => ({ total: 0, byName: {} });
let mark = { cpu: process.cpuUsage(), trips: reading() };
process.on('message', (message: string) => {
  if (message === 'mark') {
    mark = { cpu: process.cpuUsage(), trips: reading() };
  } else if (message === 'report') {
    const cpu = process.cpuUsage(mark.cpu);
    const now = reading();
    const byName: Record<string, number> = {};
    for (const [name, n] of Object.entries(now.byName)) {
      const delta = n - (mark.trips.byName[name] ?? 0);
      if (delta > 0) byName[name] = delta;
    }
    const report: WorkerReport = { cpuMs: (cpu.user + cpu.system) / 1000, roundTrips: { total: now.total - mark.trips.total, byName } };
    process.send!(report);
  }
});
// The IPC channel must not keep the worker alive once it has closed.
process.channel?.unref();
