import { classify, extract, type RankStrategyName, rank } from '@shoal/agents';
import type { Executor } from '@shoal/core';
import { z } from 'zod';
import type { InputItem } from '../items.js';
import { failed, type ItemOutcome } from '../outcome.js';
import type { WorkUnit } from '../run-units.js';
import { batchesByIndex } from './batches.js';
import { textItems } from './text-items.js';

interface Common {
  readonly field: string;
  readonly priority?: number;
}

const scoped = (executor: Executor, priority: number | undefined) => ({ executor, ...(priority === undefined ? {} : { priority }) });

/** `shoal classify`: `pack` texts a call (classify()'s packing), one label (or several with multiLabel) per item. */
export function classifyUnits(
  items: readonly InputItem[],
  executor: Executor,
  options: Common & { readonly labels: readonly [string, ...string[]]; readonly pack: number; readonly multiLabel: boolean; readonly instructions?: string },
) {
  const { texts, known } = textItems(items, options.field);
  const labels = z.enum(options.labels);
  const units: WorkUnit[] = [];
  for (const batch of batchesByIndex(texts, options.pack)) {
    units.push({
      indexes: batch.map((t) => t.index),
      run: async () => {
        const result = await classify({
          ...scoped(executor, options.priority),
          labels,
          items: batch.map(({ id, text }) => ({ id, text })),
          pack: options.pack,
          multiLabel: options.multiLabel,
          ...(options.instructions ? { instructions: options.instructions } : {}),
        });
        return result.items.map((item): ItemOutcome => {
          if (!item.ok) return failed(item.error);
          const { label, labels: all, confidence, abstained } = item;
          return { ok: true, output: options.multiLabel ? { labels: all, abstained } : { label: label ?? null, confidence: confidence ?? null, abstained } };
        });
      },
    });
  }
  return { units, known };
}

/** `shoal rank`: the whole file ranked for one query (one unit); each line gets its rank, or null outside the top K. */
export function rankUnits(
  items: readonly InputItem[],
  executor: Executor,
  options: Common & { readonly query: string; readonly topK: number; readonly strategy: RankStrategyName },
) {
  const { texts, known } = textItems(items, options.field);
  const unit: WorkUnit = {
    indexes: texts.map((t) => t.index),
    run: async () => {
      const result = await rank({
        ...scoped(executor, options.priority),
        query: options.query,
        items: texts.map(({ id, text }) => ({ id, text })),
        topK: Math.min(options.topK, texts.length),
        strategy: options.strategy,
      });
      const ranks = new Map(result.ranking.map((r) => [r.id, r.rank]));
      return texts.map(({ id }): ItemOutcome => ({ ok: true, output: { rank: ranks.get(id) ?? null } }));
    },
  };
  return { units: texts.length > 0 ? [unit] : [], known };
}

/** `shoal extract`: one document a unit, the schema's fields with their evidence. */
export function extractUnits(items: readonly InputItem[], executor: Executor, options: Common & { readonly schema: z.ZodObject }) {
  const { texts, known } = textItems(items, options.field);
  const units: WorkUnit[] = texts.map(({ index, id, text }) => ({
    indexes: [index],
    run: async () => {
      const result = await extract({ ...scoped(executor, options.priority), schema: options.schema, documents: [{ id, text }] });
      const doc = result.documents[0];
      if (!doc) return [failed(new Error('extract() returned no document'))];
      const chunkError = doc.failedChunks[0]?.error;
      if (chunkError && Object.keys(doc.data).length === 0) return [failed(chunkError)];
      return [
        {
          ok: true,
          output: { data: doc.data, complete: doc.complete, missing: doc.missing, unverified: doc.unverified.length, failedChunks: doc.failedChunks.length },
        },
      ];
    },
  }));
  return { units, known };
}
