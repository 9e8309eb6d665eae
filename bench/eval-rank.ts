/**
 * `pnpm eval:rank`: ranking quality and cost of each rank() strategy, with a simulated
 * judge of known noise answering through the ShortAPI emulator over HTTP (so the real
 * prompts, answer parsing and id repair run).
 *
 * 1. Simulated: N = 100 and 1,000 items with distinct true relevance; nDCG@10, calls,
 *    rounds and tokens per query. With a noiseless judge the top-10 must be exact.
 * 2. TREC DL19 (43 queries, BM25's top 100, NIST judgments) read from
 *    ../shared/data/trec-dl19 (or $SHOAL_TREC_DL19): first the published BM25 nDCG@10
 *    (0.5058) and the ceiling (0.8922) are reproduced, then each strategy re-ranks.
 *    Skipped, with a message, when the folder is absent. The data is never copied here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type RankStrategy, rank } from '@shoal/agents';
import { rankingJudge } from '@shoal/agents/testing';
import { createExecutor, type Executor, shortApi } from '@shoal/core';
import { seededRandom, startShortApiEmulator } from '@shoal/core/testing';

const STRATEGIES: { label: string; strategy: RankStrategy }[] = [
  { label: 'sliding window (w20, s10)', strategy: { name: 'sliding-window', window: 20, step: 10 } },
  { label: 'tournament (w20)', strategy: { name: 'tournament', window: 20 } },
  { label: 'setwise (c4)', strategy: { name: 'setwise', setSize: 4 } },
  { label: 'pointwise (pack 10)', strategy: { name: 'pointwise', pack: 10 } },
];
const TOP_K = 10;
let failures = 0;

// ---------- metric ----------

/** nDCG@k as trec_eval's ndcg_cut: linear gain, log2 discount, ideal from all judged gains of the query. */
export function ndcgAt(k: number, rankedGains: readonly number[], allGains: readonly number[]): number {
  const dcg = (gains: readonly number[]) => gains.slice(0, k).reduce((sum, g, i) => sum + g / Math.log2(i + 2), 0);
  const ideal = dcg([...allGains].sort((a, b) => b - a));
  return ideal === 0 ? 0 : dcg(rankedGains) / ideal;
}

const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
const fixed = (x: number, digits = 4) => x.toFixed(digits);

// ---------- one emulator + executor for everything ----------

type Judge = ReturnType<typeof rankingJudge>;
let currentJudge: Judge | undefined;
const emulator = await startShortApiEmulator({
  latencyMs: 0,
  rules: [{ match: (prompt) => currentJudge?.match(prompt) ?? false, reply: (prompt) => currentJudge!.reply(prompt) }],
});
const executor: Executor = createExecutor({
  provider: shortApi({ apiKey: emulator.apiKey, baseURL: emulator.url, poll: { initialDelayMs: 1 } }),
  concurrency: 64,
  cache: false, // every call is a model call, as with a fresh judge
});

interface Row {
  ndcg: number[];
  calls: number[];
  rounds: number[];
  inputTokens: number[];
  outputTokens: number[];
  repairs: number;
  exact: number;
  queries: number;
}
const newRow = (): Row => ({ ndcg: [], calls: [], rounds: [], inputTokens: [], outputTokens: [], repairs: 0, exact: 0, queries: 0 });

async function inBatches<T>(tasks: readonly T[], size: number, run: (task: T) => Promise<void>) {
  for (let i = 0; i < tasks.length; i += size) await Promise.all(tasks.slice(i, i + size).map(run));
}

// ---------- 1. simulated ----------

/** A query: n items of distinct true relevance on 0-100, in the order of a weak first stage (relevance + noise 30). */
function syntheticQuery(n: number, seed: number) {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const relevance = Array.from({ length: n }, (_, i) => (100 * (i + 0.5)) / n);
  const items = relevance.map((rel, i) => ({ id: `q${seed}-d${i}`, rel, firstStage: rel + 30 * gaussian() }));
  items.sort((a, b) => b.firstStage - a.firstStage);
  return items.map((item) => ({ id: item.id, rel: item.rel, text: `item ${item.id} rel=${item.rel.toFixed(3)}` }));
}
const relOfText = (passage: string) => Number(/rel=([\d.]+)/.exec(passage)?.[1] ?? 0);

async function simulated() {
  const settings = [
    { n: 100, queries: 20 },
    { n: 1000, queries: 4 },
  ];
  const noises = [
    { label: 'σ=0', noise: 0, idFaults: 0 },
    { label: 'σ=10, 5% id faults', noise: 10, idFaults: 0.05 },
    { label: 'σ=25, 5% id faults', noise: 25, idFaults: 0.05 },
  ];
  for (const { n, queries } of settings) {
    console.log(`\n### Simulated judge, N = ${n} (${queries} queries; relevance 0-100, first stage = relevance + N(0, 30); nDCG gain = relevance)\n`);
    console.log(
      line([
        'strategy',
        ...noises.map((x) => `nDCG@10 ${x.label}`),
        'exact top-10 at σ=0',
        'calls',
        'rounds',
        'input tokens',
        'output tokens',
        'id repairs (noisy runs)',
      ]),
    );
    console.log(line(['---', ...noises.map(() => '---:'), '---:', '---:', '---:', '---:', '---:', '---:']));
    const firstStage: number[] = [];
    for (let q = 0; q < queries; q++) {
      const items = syntheticQuery(n, 1000 * n + q);
      firstStage.push(
        ndcgAt(
          TOP_K,
          items.map((i) => i.rel),
          items.map((i) => i.rel),
        ),
      );
    }
    for (const { label, strategy } of STRATEGIES) {
      const rows = noises.map(newRow);
      for (const [x, setting] of noises.entries()) {
        currentJudge = rankingJudge({ relevance: relOfText, noise: setting.noise, idFaults: setting.idFaults, seed: 11 });
        await inBatches(
          Array.from({ length: queries }, (_, q) => q),
          4,
          async (q) => {
            const items = syntheticQuery(n, 1000 * n + q);
            const result = await rank({ query: `synthetic ${q}`, items, topK: TOP_K, strategy, executor });
            const row = rows[x]!;
            row.ndcg.push(
              ndcgAt(
                TOP_K,
                result.ranking.map((r) => r.item.rel),
                items.map((i) => i.rel),
              ),
            );
            row.calls.push(result.calls);
            row.rounds.push(result.rounds);
            row.inputTokens.push(result.usage.inputTokens);
            row.outputTokens.push(result.usage.outputTokens);
            row.repairs += result.repairs.missing + result.repairs.repeated + result.repairs.invented;
            const truth = [...items]
              .sort((a, b) => b.rel - a.rel)
              .slice(0, TOP_K)
              .map((i) => i.id);
            if (result.ranking.map((r) => r.id).join() === truth.join()) row.exact++;
            row.queries++;
          },
        );
      }
      const clean = rows[0]!;
      if (clean.exact !== clean.queries) {
        failures++;
        console.error(`!! ${label}: the noiseless judge gave an inexact top-10 in ${clean.queries - clean.exact} of ${clean.queries} queries`);
      }
      console.log(
        line([
          label,
          ...rows.map((r) => fixed(mean(r.ndcg))),
          `${clean.exact}/${clean.queries}`,
          fixed(mean(clean.calls), 1),
          fixed(mean(clean.rounds), 1),
          Math.round(mean(clean.inputTokens)),
          Math.round(mean(clean.outputTokens)),
          rows[1]!.repairs + rows[2]!.repairs,
        ]),
      );
    }
    console.log(line(['first stage, not re-ranked', fixed(mean(firstStage)), '', '', '', '', '', '', '', '', '']));
  }
}

// ---------- 2. TREC DL19 ----------

function dl19Folder(): string | undefined {
  const candidates = [process.env.SHOAL_TREC_DL19, fileURLToPath(new URL('../../shared/data/trec-dl19/', import.meta.url))].filter(Boolean) as string[];
  return candidates.find((dir) => existsSync(`${dir}/qrels.txt`) && existsSync(`${dir}/bm25-top100.tsv`) && existsSync(`${dir}/queries.tsv`));
}

async function trec() {
  const dir = dl19Folder();
  if (!dir) {
    console.log(
      '\n### TREC DL19: skipped\n\nThe data folder ../shared/data/trec-dl19 (or $SHOAL_TREC_DL19) is absent; it is never copied into this repository.',
    );
    return;
  }
  const tsv = (file: string) =>
    readFileSync(`${dir}/${file}`, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));
  const queries = tsv('queries.tsv').map(([qid, text]) => ({ qid: qid!, text: text! }));
  const qrels = new Map<string, Map<string, number>>();
  for (const row of readFileSync(`${dir}/qrels.txt`, 'utf8').trim().split('\n')) {
    const [qid, , docid, rating] = row.trim().split(/\s+/);
    if (!qrels.has(qid!)) qrels.set(qid!, new Map());
    qrels.get(qid!)!.set(docid!, Number(rating));
  }
  const runs = new Map<string, { docid: string; score: number }[]>();
  for (const [qid, docid, , score] of tsv('bm25-top100.tsv')) {
    if (!runs.has(qid!)) runs.set(qid!, []);
    runs.get(qid!)!.push({ docid: docid!, score: Number(score) });
  }
  // trec_eval's order: score descending, ties by docid descending (it sorts the docno strings in reverse).
  for (const run of runs.values()) run.sort((a, b) => b.score - a.score || (a.docid < b.docid ? 1 : a.docid > b.docid ? -1 : 0));
  const gain = (qid: string, docid: string) => qrels.get(qid)?.get(docid) ?? 0;
  const judged = (qid: string) => [...(qrels.get(qid)?.values() ?? [])];
  const bm25 = mean(
    queries.map((q) =>
      ndcgAt(
        TOP_K,
        runs.get(q.qid)!.map((d) => gain(q.qid, d.docid)),
        judged(q.qid),
      ),
    ),
  );
  const ceiling = mean(
    queries.map((q) =>
      ndcgAt(
        TOP_K,
        runs
          .get(q.qid)!
          .map((d) => gain(q.qid, d.docid))
          .sort((a, b) => b - a),
        judged(q.qid),
      ),
    ),
  );
  console.log(`\n### TREC DL19 (${queries.length} queries, BM25 top ${runs.get(queries[0]!.qid)!.length})\n`);
  console.log(`metric check: BM25 nDCG@10 = ${fixed(bm25)} (published 0.5058), ceiling on these candidates = ${fixed(ceiling)} (published 0.8922)`);
  if (Math.abs(bm25 - 0.5058) > 0.00005 || Math.abs(ceiling - 0.8922) > 0.00005) {
    failures++;
    console.error('!! the metric does not reproduce the published figures');
  }
  // Passage texts are not in the data: each candidate is a stand-in of 60 words that carries its docid, which the judge reads.
  const words =
    'the of and to in is for on that with as by at from this are be or an was which it its can has have their more than other most about may also into when been used these time only such over'.split(
      ' ',
    );
  const standIn = (docid: string) => {
    const random = seededRandom(Number(docid) || 1);
    return `doc ${docid}: ${Array.from({ length: 60 }, () => words[Math.floor(random() * words.length)]).join(' ')}`;
  };
  const noises = [
    { label: 'noiseless', noise: 0 },
    { label: 'σ=0.5 grade', noise: 0.5 },
    { label: 'σ=1 grade', noise: 1 },
  ];
  console.log(
    `\njudge: a passage's NIST grade (0-3, unjudged = 0) plus Gaussian noise σ (in grades) afresh in each call; 5% of listwise/setwise answers with an id fault in the noisy runs. Passages are 60-word stand-ins (the data has no texts), so tokens are indicative.\n`,
  );
  console.log(
    line(['strategy', ...noises.map((x) => `nDCG@10 ${x.label}`), 'calls / query', 'rounds / query', 'input tokens / query', 'output tokens / query']),
  );
  console.log(line(['---', ...noises.map(() => '---:'), '---:', '---:', '---:', '---:']));
  console.log(line(['BM25 (no re-ranking)', fixed(bm25), fixed(bm25), fixed(bm25), 0, 0, 0, 0]));
  for (const { label, strategy } of STRATEGIES) {
    const rows = noises.map(newRow);
    for (const [x, setting] of noises.entries()) {
      const rel = new Map<string, number>();
      currentJudge = rankingJudge({
        // Keyed by query and docid: queries running at the same time may share a passage.
        relevance: (passage, query) => (rel.get(`${query}\u0000${/^doc (\d+):/.exec(passage)?.[1] ?? ''}`) ?? 0) * (100 / 3),
        noise: (setting.noise * 100) / 3,
        idFaults: setting.noise > 0 ? 0.05 : 0,
        seed: 19,
      });
      await inBatches(queries, 8, async (q) => {
        const run = runs.get(q.qid)!;
        for (const d of run) rel.set(`${q.text}\u0000${d.docid}`, gain(q.qid, d.docid));
        const result = await rank({ query: q.text, items: run.map((d) => ({ id: d.docid, text: standIn(d.docid) })), topK: TOP_K, strategy, executor });
        const row = rows[x]!;
        row.ndcg.push(
          ndcgAt(
            TOP_K,
            result.ranking.map((r) => gain(q.qid, r.id)),
            judged(q.qid),
          ),
        );
        row.calls.push(result.calls);
        row.rounds.push(result.rounds);
        row.inputTokens.push(result.usage.inputTokens);
        row.outputTokens.push(result.usage.outputTokens);
      });
    }
    const clean = rows[0]!;
    console.log(
      line([
        label,
        ...rows.map((r) => fixed(mean(r.ndcg))),
        fixed(mean(clean.calls), 1),
        fixed(mean(clean.rounds), 1),
        Math.round(mean(clean.inputTokens)),
        Math.round(mean(clean.outputTokens)),
      ]),
    );
  }
  console.log(line(['ceiling (judgments as a perfect judge)', fixed(ceiling), '', '', '', '', '', '']));
  console.log(`
Published call counts on the same candidates (context; different models, not re-run here):

| method | calls / query | source |
| --- | ---: | --- |
| RankGPT sliding window (w20, s10), gpt-3.5: nDCG@10 65.80 | 10 (its loop makes 9) | Sun et al. 2023, "Is ChatGPT Good at Search?", Table 11; sunnweiwei/RankGPT rank_gpt.py |
| Setwise heapsort (c3), Flan-T5-large | 125.4 | Zhuang et al. 2024, "A Setwise Approach ...", Table 2 |
| Setwise bubblesort (c3), Flan-T5-large | 460.5 | same |
| Listwise generation (w4, s2, 5 passes), Flan-T5-large | 245 | same |
| Pointwise yes/no, Flan-T5-large | 100 | same |`);
}

try {
  await simulated();
  await trec();
} finally {
  await executor.close();
  await emulator.close();
}
if (failures > 0) {
  console.error(`\n${failures} check(s) failed`);
  process.exitCode = 1;
}
