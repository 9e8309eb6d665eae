import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** An emulator in a child process, so its CPU is not counted as ours. `extra`: more of its flags (`--concurrency 64`). */
export async function childEmulator(
  latencyMs: number,
  openai = false,
  extra: readonly string[] = [],
): Promise<{ url: string; apiKey: string; child: ChildProcess }> {
  const bin = fileURLToPath(new URL('../packages/core/dist/testing/emulator-bin.js', import.meta.url));
  const child = spawn(process.execPath, [bin, '--json', '--latency', String(latencyMs), ...(openai ? ['--openai'] : []), ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { ...(JSON.parse(line) as { url: string; apiKey: string }), child };
}
