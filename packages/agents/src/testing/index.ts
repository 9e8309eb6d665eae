/**
 * `@shoal/agents/testing`: stand-ins for a model, for tests and evaluations of the ready-made agents.
 *
 * @module @shoal/agents/testing
 */

export type { RankingJudge, RankingJudgeOptions } from './ranking-judge.js';
export { rankingJudge } from './ranking-judge.js';
