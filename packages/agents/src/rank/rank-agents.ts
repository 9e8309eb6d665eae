import { defineAgent } from '@shoal/core';
import { z } from 'zod';

/**
 * The three ranking agents, defined with the public agent API like any plugin's. Passages
 * are shown numbered [1]..[n]; answers name passages by those numbers (short, hard to
 * garble, and mapped back to the caller's ids by rank()).
 */

const DEFAULT_RELEVANCE = 'how well each passage answers the search query';

const passagesInput = z.object({
  /** The search query. */
  query: z.string(),
  /** The passages, shown numbered from 1. */
  passages: z.array(z.string()),
});
type PassagesInput = z.output<typeof passagesInput>;

function renderPassages(input: PassagesInput, closing: string): string {
  const lines = input.passages.map((text, i) => `[${i + 1}] ${text.replace(/\s+/g, ' ').trim()}`);
  return `Query: ${input.query}\n\n${lines.join('\n')}\n\n${closing}`;
}

/** The listwise ranking agent: orders every numbered passage by relevance to the query. `relevance` words what relevant means. */
export function listwiseAgent(relevance = DEFAULT_RELEVANCE) {
  return defineAgent({
    name: 'shoal.rank-listwise',
    description: 'Orders numbered passages by relevance to a query, most relevant first.',
    input: passagesInput,
    output: z.object({
      /** Every passage number exactly once, most relevant first. */
      order: z.array(z.union([z.number(), z.string()])).describe('Every passage number exactly once, most relevant first.'),
    }),
    instructions: `You rank passages for a search query by ${relevance}. The passages are numbered [1] to [n]. Answer with every passage number exactly once, the most relevant first; do not skip, repeat or invent numbers.`,
    prompt: (input) => renderPassages(input, `Rank all ${input.passages.length} passages above, most relevant to the query first.`),
    params: { temperature: 0 },
  });
}

/** The setwise ranking agent: picks the most relevant passage of a small numbered set. `relevance` words what relevant means. */
export function setwiseAgent(relevance = DEFAULT_RELEVANCE) {
  return defineAgent({
    name: 'shoal.rank-setwise',
    description: 'Picks the one passage of a small numbered set that is most relevant to a query.',
    input: passagesInput,
    output: z.object({
      /** The number of the most relevant passage. */
      best: z.union([z.number(), z.string()]).describe('The number of the most relevant passage.'),
    }),
    instructions: `You judge passages for a search query by ${relevance}. The passages are numbered [1] to [n]. Answer with the number of the single most relevant passage.`,
    prompt: (input) => renderPassages(input, `Which of the ${input.passages.length} passages above is the most relevant to the query?`),
    params: { temperature: 0 },
  });
}

/** The pointwise ranking agent: scores one passage from 0 to 100 for relevance to the query. `relevance` words what relevant means. */
export function pointwiseAgent(relevance = DEFAULT_RELEVANCE) {
  return defineAgent({
    name: 'shoal.rank-pointwise',
    description: 'Scores one passage from 0 to 100 for relevance to a query.',
    input: z.object({
      /** The search query. */
      query: z.string(),
      /** The passage to score. */
      passage: z.string(),
    }),
    output: z.object({
      /** From 0 (unrelated) to 100 (a complete, direct answer). */
      score: z.number().min(0).max(100).describe('0: unrelated; 100: a complete, direct answer.'),
    }),
    instructions: `You score a passage for a search query by ${relevance}, from 0 (unrelated) to 100 (a complete, direct answer). Judge each passage on its own.`,
    params: { temperature: 0 },
  });
}

export type ListwiseAgent = ReturnType<typeof listwiseAgent>;
export type SetwiseAgent = ReturnType<typeof setwiseAgent>;
export type PointwiseAgent = ReturnType<typeof pointwiseAgent>;
