/**
 * How far the token estimate (what shoal counts with when gpt-tokenizer is not installed)
 * is from the o200k count, on the texts shoal counts: the prompts its ready-made agents
 * build for the examples' data, the answers they get back (simulated, and the malformed
 * answers of core's fixtures), the TREC DL19 queries and rows from ../shared/data/trec-dl19
 * (or $SHOAL_TREC_DL19; skipped with a message when absent), this repository's docs and
 * sources, and a few lines in other scripts. Beside it, two cheaper rules: UTF-8 bytes / 4
 * and characters / 4.
 *
 *   npx tsx bench/token-estimate.ts
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { classify, extract, rank } from '@shoal/agents';
import { type CompletionRequest, createExecutor, type ModelProvider } from '@shoal/core';
import { simulate, simulateWithSchema } from '@shoal/core/testing';
import { z } from 'zod';
import { TICKETS } from '../examples/classification.js';
import { QUERY, RESULTS } from '../examples/data/search-results.js';
import { Invoice } from '../examples/extraction.js';
import { estimateTokens } from '../packages/core/src/token-estimate.js';
import { loadTokenizer } from '../packages/core/src/tokens.js';
import { CORPUS as MALFORMED } from '../packages/core/test/fixtures/malformed-answers.js';
import { OTHER_SCRIPTS } from '../packages/core/test/fixtures/other-scripts.js';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

/** The prompts the ready-made agents send for the examples' data, and the simulated answers, through a provider that records them. */
async function agentTexts(): Promise<{ prompts: string[]; answers: string[] }> {
  const prompts: string[] = [];
  const answers: string[] = [];
  const provider: ModelProvider = {
    specificationVersion: 'shoal.provider.v1',
    name: 'recorder',
    model: 'recorder',
    async doComplete(request: CompletionRequest) {
      const text = request.output ? simulateWithSchema(request.output.schema, request.prompt) : simulate(request.prompt);
      prompts.push(request.prompt);
      answers.push(text);
      return { text, requests: 0, usage: { inputTokens: 1, cachedInputTokens: 0, outputTokens: 1 } };
    },
  };
  const executor = createExecutor({ provider, concurrency: 4 });
  const tickets = read('examples/data/tickets.jsonl')
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { text: string }).text);
  await classify({ labels: z.enum(['billing', 'bug', 'account', 'feature-request']), items: [...TICKETS, ...tickets], executor, pack: 12, confidence: true });
  const folder = new URL('examples/data/invoices/', root);
  const documents = readdirSync(folder).map((file) => ({ id: file, text: readFileSync(new URL(file, folder), 'utf8') }));
  await extract({ schema: Invoice, documents, executor });
  await rank({ query: QUERY, items: RESULTS, topK: 5, strategy: { name: 'tournament', window: 8 }, executor });
  await executor.close();
  return { prompts, answers };
}

function trecTexts(): { queries: string[]; rows: string[] } | undefined {
  const dir = [process.env.SHOAL_TREC_DL19, fileURLToPath(new URL('../shared/data/trec-dl19/', root))].find((d) => d && existsSync(`${d}/queries.tsv`));
  if (!dir) return undefined;
  const queries = readFileSync(`${dir}/queries.tsv`, 'utf8')
    .split('\n')
    .slice(1) // the header
    .filter(Boolean)
    .map((line) => line.split('\t')[1]!);
  // The rankings and judgments as text: blocks of 100 rows (numbers, tabs, newlines).
  const rows: string[] = [];
  for (const file of ['bm25-top100.tsv', 'qrels.txt']) {
    const lines = readFileSync(`${dir}/${file}`, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i += 100) rows.push(lines.slice(i, i + 100).join('\n'));
  }
  return { queries, rows };
}

/** Paragraphs of the docs, and whole source files. */
function repositoryTexts(): { prose: string[]; code: string[] } {
  const prose: string[] = [];
  for (const doc of [
    'README.md',
    ...readdirSync(new URL('docs/', root))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ]) {
    prose.push(
      ...read(doc)
        .split(/\n\n+/)
        .filter((p) => p.trim().length > 0),
    );
  }
  const code = readdirSync(new URL('packages/core/src/executor/', root)).map((f) => read(`packages/core/src/executor/${f}`));
  return { prose, code };
}

const bytes = (t: string) => Buffer.byteLength(t, 'utf8');
const rules = {
  estimate: estimateTokens,
  'bytes/4': (t: string) => Math.ceil(bytes(t) / 4),
  'chars/4': (t: string) => Math.ceil(t.length / 4),
};

/** A ratio as a signed percentage over or under. */
const pct = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(0)}%`;

function report(name: string, texts: readonly string[]) {
  const real = texts.map((t) => countTokens(t));
  const total = real.reduce((a, b) => a + b, 0);
  const cells = Object.entries(rules).map(([rule, estimate]) => {
    const ratios = texts.map((t, i) => (real[i] === 0 ? (estimate(t) === 0 ? 1 : 2) : estimate(t) / real[i]!));
    const sum = texts.reduce((a, t) => a + estimate(t), 0);
    const under = ratios.filter((r) => r < 1).length;
    return `${rule} ${pct(sum / total)} (texts ${pct(Math.min(...ratios))}..${pct(Math.max(...ratios))}, ${under} under)`;
  });
  console.log(`| ${name} | ${texts.length} | ${total} | ${cells.join(' | ')} |`);
}

const o200k = await loadTokenizer();
if (o200k.kind !== 'o200k') throw new Error('this measurement needs gpt-tokenizer (a devDependency of @shoal/core): run pnpm install');
const countTokens = (text: string) => o200k.count(text);
const agents = await agentTexts();
const repository = repositoryTexts();
console.log('| texts | n | o200k tokens | estimate: total error (per text: range, texts under) | bytes/4 | chars/4 |');
console.log('| --- | --- | --- | --- | --- | --- |');
report('agent prompts (examples)', agents.prompts);
report('agent answers (simulated)', agents.answers);
report(
  'malformed answers (core fixtures)',
  MALFORMED.map((c) => c.text),
);
const trec = trecTexts();
if (trec) {
  report('TREC DL19 queries', trec.queries);
  report('TREC DL19 rows (100 a text)', trec.rows);
} else console.log('TREC DL19: skipped, ../shared/data/trec-dl19 (or $SHOAL_TREC_DL19) is absent');
report('docs paragraphs', repository.prose);
report('core executor sources', repository.code);
report(
  'other scripts (core fixtures)',
  OTHER_SCRIPTS.map((s) => s.text),
);
