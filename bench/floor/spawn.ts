import { spawn } from 'node:child_process';

/**
 * Runs one contender script in a process of its own (its CPU and peak RSS are its own) and
 * reads the one JSON line it prints. Bounded: a contender still running after a minute is
 * killed and the bench fails.
 */
export function spawnContender<T>(script: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as T);
      else reject(new Error(`bench: the contender ${args[0]} of ${script} exited with ${code}`));
    });
  });
}

export type Contender = 'raw' | 'shoal';

/** How many rounds each comparison runs; its rows quote the median. */
export const ROUNDS = 5;

/** Both contenders `ROUNDS` times, interleaved, the order swapped each round: neither always runs on a warmer machine. */
export async function interleaved<T>(run: (name: Contender) => Promise<T>): Promise<Record<Contender, T[]>> {
  const samples: Record<Contender, T[]> = { raw: [], shoal: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Contender[] = round % 2 === 0 ? ['raw', 'shoal'] : ['shoal', 'raw'];
    for (const name of order) samples[name].push(await run(name));
  }
  return samples;
}

/** A sample's range, `min-max`. */
export const spread = (xs: readonly number[], digits = 0) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;
