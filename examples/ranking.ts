/**
 * Re-rank search results for a query with a parallel listwise tournament.
 *
 *   npx -y pnpm@12.4.2 example:ranking
 */

import { rank, rankingPlan } from '@shoal/agents';
import type { Executor } from '@shoal/core';
import { QUERY, RESULTS } from './data/search-results.js';
import { isMain, progressLine, runAlone } from './shared/backend.js';

export async function rankingExample(executor: Executor) {
  const strategy = { name: 'tournament', window: 8 } as const;
  const plan = rankingPlan({ items: RESULTS.length, topK: 5, strategy });
  console.log(`\nRanking: ${RESULTS.length} search results for "${QUERY}"`);
  console.log(`  strategy: tournament, window 8, top 5: planned ${plan.calls} calls in ${plan.rounds} rounds`);
  const progress = progressLine('ranking');
  const result = await rank({
    query: QUERY,
    items: RESULTS,
    topK: 5,
    strategy,
    executor,
    onProgress: (p) => progress.update(p.calls, p.plannedCalls, p.costUsd),
  });
  for (const { rank: position, item } of result.ranking) console.log(`  ${position}. ${item.url}\n     ${item.text.slice(0, 100)}`);
  const fixed = result.repairs.missing + result.repairs.repeated + result.repairs.invented;
  console.log(
    `  ${result.calls} calls, ${result.rounds} rounds, ${result.usage.inputTokens + result.usage.outputTokens} tokens, $${result.costUsd.toFixed(6)}; ids repaired: ${fixed} (left out ${result.repairs.missing}, repeated ${result.repairs.repeated}, invented ${result.repairs.invented})`,
  );
  return result;
}

if (isMain(import.meta.url)) await runAlone(rankingExample);
