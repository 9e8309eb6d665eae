/**
 * How long reading one model answer takes at its worst: `StructuredOutput.parse` on
 * answers built to be slow (for jsonrepair, for the bracket scans, for validation), from
 * 1 KB to 1 MB. Prints one table of median milliseconds per pattern and size, and the
 * worst per size; the goal is every answer up to 1 MB under 100 ms. Parsing is
 * synchronous, so while it runs the whole process waits.
 *
 * Run: node --import tsx bench/json-repair.ts [runs=3]
 * Each pattern runs in a child process of its own, killed when one answer takes over 10 s.
 * It imports the parser from source, so it needs no build.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { StructuredOutput } from '../packages/core/src/structured/structured-output.js';
import { median } from './measure.js';

const runs = Number(process.argv[2] ?? 3);
const sizes = [1 << 10, 1 << 12, 1 << 14, 1 << 16, 1 << 18, 1 << 20];
/** One answer that takes longer than this stops its pattern (a parser without bounds can take minutes): its child process is killed, the larger sizes are not run. */
const giveUpMs = 10_000;

const schema = z.object({ label: z.string(), items: z.array(z.object({ id: z.number(), name: z.string() })).optional() });
const output = new StructuredOutput(schema);

/** `head`, then `unit` repeated, then `tail`, to about `n` characters. */
const fill = (head: string, unit: string, tail: string, n: number) =>
  head + unit.repeat(Math.max(1, Math.ceil((n - head.length - tail.length) / unit.length))) + tail;
const items = (n: number) => fill('{"label":"x","items":[', '{"id":1,"name":"abcdef"},', '{"id":2,"name":"g"}]}', n);

const patterns: Record<string, (n: number) => string> = {
  // Slow for jsonrepair 3.15.0.
  "quotes in a string {'a': 'x'x'x": (n) => fill("{'a': 'x", "'x", '', n),
  'objects never closed [{{{{': (n) => fill('[', '{', '', n),
  'alternating [{[{[{': (n) => fill('', '[{', '', n),
  'missing commas [1 1 1': (n) => fill('[', '1 ', '', n),
  'missing commas [{}{}{}': (n) => fill('[', '{}', '', n),
  'mixed quotes [\'a"b\'c"': (n) => fill("['", 'a"b\'c', '', n),
  'newline-delimited {..}\\n{..}': (n) => fill('', '{"a":1}\n', '', n),
  'unclosed fence ```json {"a":"x\'y"z': (n) => fill('```json\n{"a":"', 'x\'y"z ', '', n),
  'truncated valid JSON': (n) => items(n).slice(0, -12),
  // Slow for the scans and validation, not for repair.
  'valid JSON': items,
  'valid JSON in prose': (n) => `Here it is: ${items(n - 40)} Hope that helps.`,
  'valid JSON in a fence': (n) => `\`\`\`json\n${items(n - 12)}\n\`\`\``,
  'brackets in prose [1] {a} [1] {a}': (n) => fill('see ', '[1] {a} ', '', n),
  'deep nesting in prose x [[[..]]]': (n) => `x ${'['.repeat(n / 2 - 2)}${']'.repeat(n / 2 - 2)}`,
  'unbalanced nesting [[[[': (n) => fill('', '[', '', n),
  'many spans {"label":1} x10': (n) => fill('Answer: ', '{"label":1,"items":[]} ', '', n),
};

/**
 * Valid JSON with tens of thousands of values of the wrong type: bound by zod, which builds
 * one issue per invalid value (~2 µs each), not by reading. Shown apart from the goal.
 */
const validationPatterns: Record<string, (n: number) => string> = {
  'every id a string "1" (coerced)': (n) => fill('{"label":"x","items":[', '{"id":"1","name":"abcdef"},', '{"id":"2","name":"g"}]}', n),
  'every id a string "x" (re-ask)': (n) => fill('{"label":"x","items":[', '{"id":"x","name":"abcdef"},', '{"id":"y","name":"g"}]}', n),
};

const label = (bytes: number) => (bytes >= 1 << 20 ? `${bytes >> 20} MB` : `${bytes >> 10} KB`);

function time(text: string): { ms: number; outcome: string; threw: boolean } {
  const started = performance.now();
  try {
    const answer = output.parse(text);
    return { ms: performance.now() - started, outcome: answer.ok ? answer.stage : (answer.issues[0]?.message ?? 'not ok'), threw: false };
  } catch (error) {
    // parse() must return a result for every answer; a throw is a defect the table shows.
    return { ms: performance.now() - started, outcome: `threw ${String(error)}`, threw: true };
  }
}

type Measured = { size: number; ms: number; outcome: string; threw: boolean };

const child = process.argv[3];
if (child !== undefined) {
  // A child process measures one pattern, size by size, and sends each median as it has it.
  const make = (patterns[child] ?? validationPatterns[child])!;
  for (let i = 0; i < 5; i++) time(make(512)); // warm the JIT so the first size does not pay for compilation
  for (const size of sizes) {
    const text = make(size);
    const results = Array.from({ length: runs }, () => time(text));
    process.send!({ size, ms: median(results.map((r) => r.ms)), outcome: results[0]!.outcome, threw: results.some((r) => r.threw) } satisfies Measured);
  }
  process.disconnect();
} else {
  /** Runs one pattern in a child process (with this one's flags, so tsx too), so that an answer that never ends can be stopped. */
  const measure = (name: string) =>
    new Promise<Measured[]>((resolve, reject) => {
      const measured: Measured[] = [];
      const worker = fork(fileURLToPath(import.meta.url), [String(runs), name], { execArgv: process.execArgv });
      let timer = setTimeout(() => worker.kill(), giveUpMs);
      worker.on('message', (m: Measured) => {
        measured.push(m);
        clearTimeout(timer);
        timer = setTimeout(() => worker.kill(), giveUpMs);
      });
      worker.on('error', reject);
      worker.on('exit', () => {
        clearTimeout(timer);
        resolve(measured);
      });
    });

  const worst = sizes.map(() => ({ ms: 0, pattern: '' }));
  const worstValidation = sizes.map(() => ({ ms: 0, pattern: '' }));
  const lines: string[] = [];
  const validationLines: string[] = [];
  const outcomes: string[] = [];
  for (const name of [...Object.keys(patterns), ...Object.keys(validationPatterns)]) {
    const validation = name in validationPatterns;
    const measured = await measure(name);
    process.stderr.write(`${name}: ${measured.map((m) => `${label(m.size)} ${m.ms.toFixed(1)}`).join(', ')}\n`);
    const cells = sizes.map((size, column) => {
      const m = measured.find((x) => x.size === size);
      const ms = m ? m.ms : Number.POSITIVE_INFINITY;
      const worstHere = validation ? worstValidation : worst;
      if (ms > worstHere[column]!.ms) worstHere[column] = { ms, pattern: name };
      if (m) return `${m.ms.toFixed(1)}${m.threw ? ' (threw)' : ''}`;
      return measured.length === column ? `> ${giveUpMs}` : 'not run';
    });
    const last = measured[measured.length - 1];
    (validation ? validationLines : lines).push(`| ${name} | ${cells.join(' | ')} |`);
    const outcome = last ? `${label(last.size)}: ${last.outcome}` : 'none finished';
    outcomes.push(`- ${name}: ${outcome.length > 140 ? `${outcome.slice(0, 137)}...` : outcome}`);
  }

  const cell = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(1) : `> ${giveUpMs}`);
  console.log(`StructuredOutput.parse, median ms of ${runs} runs per answer (node ${process.version})\n`);
  console.log(`| pattern | ${sizes.map(label).join(' | ')} |`);
  console.log(`| --- | ${sizes.map(() => '---:').join(' | ')} |`);
  for (const line of lines) console.log(line);
  console.log(`| **worst** | ${worst.map((w) => `**${cell(w.ms)}**`).join(' | ')} |`);
  console.log(`| *bound by zod's validation:* | ${sizes.map(() => '').join(' | ')} |`);
  for (const line of validationLines) console.log(line);
  console.log(`| **worst, zod-bound** | ${worstValidation.map((w) => `**${cell(w.ms)}**`).join(' | ')} |`);
  console.log(`\nworst pattern per size: ${worst.map((w, i) => `${label(sizes[i]!)} ${w.pattern}`).join('; ')}`);
  console.log('\noutcome at the largest size measured:');
  for (const line of outcomes) console.log(line);
  console.log(`\ngoal (every answer up to 1 MB read in under 100 ms): ${worst.every((w) => w.ms < 100) ? 'met' : 'MISSED'}`);
  console.log(
    `zod-bound rows under 100 ms: ${worstValidation.every((w) => w.ms < 100) ? 'yes' : 'no'} (zod builds one issue per invalid value; not a reading cost)`,
  );
}
