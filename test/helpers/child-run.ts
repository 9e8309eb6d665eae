import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('../fixtures/durable-run.ts', import.meta.url));

interface Output {
  readonly i: number;
  readonly jobId: string;
  readonly cached: boolean;
  readonly text: string;
}

interface Summary {
  readonly jobs: number;
  readonly cached: number;
  readonly failed: number;
  readonly done: number;
  readonly recovery: { readonly resumed: number; readonly recreated: number; readonly storeErrors: number };
}

export interface ChildRun {
  readonly child: ChildProcess;
  readonly outputs: Output[];
  readonly errors: { i: number; code: string }[];
  shutdown: Record<string, unknown> | undefined;
  summary: Summary | undefined;
  stderr: string;
  /** Resolves with the exit code and signal once the child has ended. */
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts test/fixtures/durable-run.ts in a child process. `onOutput` sees each delivered
 * output as it arrives (to kill the child at a chosen point). The child is killed after
 * `limitMs` whatever happens, so no test can hang on it.
 */
export function startRun(settings: Record<string, unknown>, onOutput?: (count: number, run: ChildRun) => void, limitMs = 25_000): ChildRun {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const run: ChildRun = {
    child,
    outputs: [],
    errors: [],
    shutdown: undefined,
    summary: undefined,
    stderr: '',
    ended: new Promise((resolve) => {
      child.once('close', (code, signal) => {
        clearTimeout(limit);
        resolve({ code, signal });
      });
    }),
  };
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const space = text.indexOf(' ');
      const kind = text.slice(0, space);
      const value = JSON.parse(text.slice(space + 1));
      if (kind === 'out') {
        run.outputs.push(value as Output);
        onOutput?.(run.outputs.length, run);
      } else if (kind === 'err') run.errors.push(value);
      else if (kind === 'shutdown') run.shutdown = value;
      else if (kind === 'summary') run.summary = value as Summary;
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    run.stderr += chunk;
  });
  return run;
}
