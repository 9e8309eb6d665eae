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
