import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const SENTIMENT_AGENT = fileURLToPath(new URL('./fixtures/sentiment-agent.ts', import.meta.url));

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: Record<string, string | undefined>;
  readonly cwd?: string;
  /** Sees standard error as it grows: return true to send SIGINT (once). */
  readonly interruptWhen?: (stderr: string) => boolean;
  /** Send a second SIGINT as soon as the first is acknowledged (the "stop at once" path). */
  readonly interruptTwice?: boolean;
}

/** Runs `shoal ...args` as a user would: a child process of the built bin. Killed after 90 s whatever happens. */
export function shoal(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  return node([BIN, ...args], options);
}

/** Runs `node ...args` (a bin file and its arguments) in a child process. Killed after 90 s whatever happens. */
export function node(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const limit = setTimeout(() => child.kill('SIGKILL'), 90_000);
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  let again = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (!interrupted && options.interruptWhen?.(stderr)) {
      interrupted = true;
      child.kill('SIGINT');
    }
    if (interrupted && options.interruptTwice && !again && stderr.includes('SIGINT: no new work starts')) {
      again = true;
      child.kill('SIGINT');
    }
  });
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(limit);
      resolve({ code, stdout, stderr });
    });
  });
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'shoal-cli-'));
}

export function writeLines(path: string, lines: readonly unknown[]): void {
  writeFileSync(path, `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`);
}

export function readJsonLines<T = Record<string, unknown>>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

/** A review a line, deterministic: the same `n` always gives the same text. */
export function review(n: number): { id: string; review: string } {
  const verdicts = ['great, loud but powerful', 'awful, it broke after a week', 'fine for smoothies, weak on ice', 'the best purchase this year'];
  return { id: `r${n}`, review: `Review ${n}: the blender is ${verdicts[n % verdicts.length]}. Bought in ${2000 + (n % 25)}, used ${n % 7} times a week.` };
}

/** The `cost  $X` of a summary or a dry run. */
export function costOf(stderr: string): number {
  const match = /^ {2}cost +\$([\d.]+)/m.exec(stderr);
  if (!match) throw new Error(`no cost line in:\n${stderr}`);
  return Number(match[1]);
}
