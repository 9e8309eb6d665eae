// The public API of @shoal/agents. Everything exported is listed here by name; a test pins this list.
export { AGENTS_PACKAGE_VERSION } from './version.js';
export { rank, rankingPlan } from './rank/rank.js';
export type { RankItem, RankOptions, RankProgress, RankResult, RankStrategy, RankStrategyName, RankedItem } from './rank/rank.js';
export type { IdRepairs } from './rank/repair.js';
export { listwiseAgent, setwiseAgent, pointwiseAgent } from './rank/rank-agents.js';
export { extract } from './extract/extract.js';
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
export { chunkText } from './extract/chunk.js';
export type { Chunk, ChunkOptions } from './extract/chunk.js';
export { classify } from './classify/classify.js';
export type { ClassifiedItem, ClassifyItem, ClassifyOptions, ClassifyResult } from './classify/classify.js';
export type { AgentCallOptions, Spending } from './util/options.js';
