/**
 * The public API of `@shoal/agents`: ready-made agents for ranking, extraction and classification, built on
 * `@shoal/core`.
 *
 * @module @shoal/agents
 */
// Everything exported is listed here by name; a test pins this list.

export type { ClassifiedItem, ClassifyItem, ClassifyOptions, ClassifyResult } from './classify/classify.js';
export { classify } from './classify/classify.js';
export type { Chunk, ChunkOptions } from './extract/chunk.js';
export { chunkText } from './extract/chunk.js';
export type {
  DocumentExtraction,
  Evidence,
  ExtractDocument,
  ExtractedFields,
  ExtractedScalar,
  ExtractedValue,
  ExtractOptions,
  ExtractResult,
  UnverifiedValue,
} from './extract/extract.js';
export { extract } from './extract/extract.js';
export type { RankedItem, RankItem, RankOptions, RankProgress, RankResult, RankStrategy, RankStrategyName } from './rank/rank.js';
export { rank, rankingPlan } from './rank/rank.js';
export { listwiseAgent, pointwiseAgent, setwiseAgent } from './rank/rank-agents.js';
export type { IdRepairs } from './rank/repair.js';
export type { AgentCallOptions, Spending } from './util/options.js';
export { AGENTS_PACKAGE_VERSION } from './version.js';
