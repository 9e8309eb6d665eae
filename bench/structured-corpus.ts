/**
 * `pnpm eval:structured`: runs the malformed-answer corpus through shoal's parser and
 * prints how many answers parse as they are, are extracted, repaired, coerced against
 * the schema, or need a re-ask.
 */
import { StructuredOutput } from '@shoal/core';
import { CORPUS, Invoice } from '../packages/core/test/fixtures/malformed-answers.js';

const output = new StructuredOutput(Invoice);
const stages = ['parsed', 'extracted', 'repaired', 'coerced', 'reask'] as const;
const byKind = new Map<string, Record<string, number>>();
const total: Record<string, number> = Object.fromEntries(stages.map((s) => [s, 0]));
let mismatches = 0;
for (const entry of CORPUS) {
  const answer = output.parse(entry.text);
  const stage = answer.ok ? answer.stage : 'reask';
  if (stage !== entry.expect) mismatches++;
  total[stage]!++;
  const row = byKind.get(entry.kind) ?? Object.fromEntries(stages.map((s) => [s, 0]));
  row[stage]!++;
  byKind.set(entry.kind, row);
}
const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
console.log(`malformed-answer corpus: ${CORPUS.length} answers\n`);
console.log(line(['kind', 'answers', ...stages]));
console.log(line(['---', '---', ...stages.map(() => '---')]));
for (const [kind, row] of byKind) console.log(line([kind, stages.reduce((n, s) => n + row[s]!, 0), ...stages.map((s) => row[s]!)]));
console.log(line(['**all**', CORPUS.length, ...stages.map((s) => `**${total[s]}**`)]));
const usable = CORPUS.length - total.reask!;
console.log(
  `\nread without a re-ask: ${usable} of ${CORPUS.length} (${((usable / CORPUS.length) * 100).toFixed(0)}%); re-ask needed: ${total.reask}${mismatches ? `; ${mismatches} differ from the corpus's expectations` : ''}`,
);
