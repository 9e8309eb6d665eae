import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startShortApiEmulator } from '../src/testing/emulator.js';

const CORE = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('the callback receiver', () => {
  it('does not keep a process alive after its last call: a program that never closes its executor still exits', async () => {
    const emulator = await startShortApiEmulator({ latencyMs: 20, seed: 4 });
    try {
      // The program makes one call with callbacks on, prints its answer, and ends without executor.close().
      const program = `
        const { createExecutor, shortApi } = await import(${JSON.stringify(CORE)});
        const executor = createExecutor({ provider: shortApi({ apiKey: ${JSON.stringify(emulator.apiKey)}, baseURL: ${JSON.stringify(emulator.url)}, callback: true }) });
        const result = await executor.complete({ prompt: 'one call' });
        console.log(result.jobId ? 'answered' : 'no job');
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', program], { stdio: ['ignore', 'pipe', 'pipe'] });
      // A safety net only: the test waits for the exit event; a process kept alive is killed here and fails below.
      const limit = setTimeout(() => child.kill('SIGKILL'), 30_000);
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
      clearTimeout(limit);
      expect(err).toBe('');
      expect(out.trim()).toBe('answered');
      expect(signal).toBeNull();
      expect(code).toBe(0);
      expect(emulator.stats().creates).toBe(1);
    } finally {
      await emulator.close();
    }
  });
});
