import { BudgetExceededError, defineAgent, type RunManyItem, type RunManyProgress, ShoalConfigError, type ShoalError } from '@shoal/core';
import { closestName, listValues, refuseUnpricedBudget } from '@shoal/core/internal';
import { z } from 'zod';
import { AgentCache } from '../util/agent-cache.js';
import { CallScope } from '../util/call-scope.js';
import { type AgentCallOptions, agentRunOptions, callOptionsShape, parseOptions, type Spending, textsSchema, withIds } from '../util/options.js';

/** An item to classify, with an id of your own. */
export interface ClassifyItem {
  /** Your id for it, echoed in its result. */
  readonly id: string;
  /** The text to classify. */
  readonly text: string;
}

export interface ClassifyOptions<E extends z.ZodEnum> extends AgentCallOptions {
  /** The labels, as a zod enum: `z.enum(['billing', 'bug', 'account'])`. */
  readonly labels: E;
  /** Plain texts (ids "0", "1", ...) or `{ id, text }`. */
  readonly items: readonly (string | ClassifyItem)[];
  /** Every label that applies (possibly none) instead of exactly one. @default false */
  readonly multiLabel?: boolean;
  /** Items per model call (answers matched by id; an item a packed answer misses is asked alone). @default 20 */
  readonly pack?: number;
  /** Ask for a confidence from 0 to 1 (per label when multiLabel). @default false */
  readonly confidence?: boolean;
  /** Let the model abstain: a single-label item may be answered `other` (or the name given). @default false */
  readonly other?: boolean | string;
  /** Abstain when the confidence is below this (needs `confidence: true`). */
  readonly minConfidence?: number;
  /** One line per label the model should read, e.g. `{ billing: 'charges, refunds, invoices' }`. */
  readonly descriptions?: Partial<Record<z.output<E>, string>>;
  /** Extra guidance, e.g. "Tickets come from a bank's customers". */
  readonly instructions?: string;
  /** Agent name (cost-ledger tag). @default 'shoal.classify' */
  readonly name?: string;
  /** Called after each packed call's items are settled (answered or failed), with the figures so far. */
  readonly onProgress?: (progress: RunManyProgress) => void;
}

/** One item's outcome: its labels, or the error that failed it. */
export type ClassifiedItem<L extends string> =
  | {
      /** The item's id. */
      readonly id: string;
      /** The item was classified. */
      readonly ok: true;
      /** The label (single-label), undefined when abstained. */
      readonly label: L | undefined;
      /** Every label given: one or none (single-label), any number (multi-label). */
      readonly labels: readonly L[];
      /** The item's confidence (the lowest of its labels' when multi-label), when asked. */
      readonly confidence: number | undefined;
      /** Per label, when asked with multiLabel. */
      readonly confidences: Partial<Record<L, number>> | undefined;
      /** The model said `other`, or its confidence was under `minConfidence`. */
      readonly abstained: false | 'other' | 'low-confidence';
      /** The label the model gave when abstaining for low confidence. */
      readonly modelLabel: L | undefined;
    }
  | {
      /** The item's id. */
      readonly id: string;
      /** The item failed. */
      readonly ok: false;
      /** Why it failed. */
      readonly error: ShoalError;
    };

export interface ClassifyResult<L extends string> extends Spending {
  /** One per item, in input order. */
  readonly items: readonly ClassifiedItem<L>[];
  /** Items per label (multi-label items count under each of theirs). */
  readonly counts: Readonly<Record<L, number>>;
  /** Items abstained on (`other`, or under `minConfidence`). */
  readonly abstained: number;
  /** Items that failed. */
  readonly failed: number;
  /** Model calls that carried more than one item. */
  readonly packedCalls: number;
}

const optionsSchema = z.strictObject({
  labels: z.custom<z.ZodEnum>((v) => v instanceof z.ZodEnum, 'Expected `labels` to be a zod enum, e.g. z.enum(["billing", "bug"])'),
  items: textsSchema,
  ...callOptionsShape,
  multiLabel: z.boolean().default(false),
  pack: z.int().min(1).max(200).default(20),
  confidence: z.boolean().default(false),
  other: z.union([z.boolean(), z.string().min(1)]).default(false),
  minConfidence: z.number().min(0).max(1).optional(),
  descriptions: z.record(z.string(), z.string()).optional(),
  instructions: z.string().optional(),
  name: z.string().optional(),
  onProgress: z.custom<(progress: RunManyProgress) => void>((v) => typeof v === 'function', 'Expected `onProgress` to be a function').optional(),
});

interface Shape {
  readonly labels: readonly string[];
  readonly multiLabel: boolean;
  readonly confidence: boolean;
  readonly other: string | undefined;
  readonly descriptions: Readonly<Record<string, string>> | undefined;
  readonly instructions: string | undefined;
  readonly name: string;
}

function buildAgent(shape: Shape) {
  const { labels, multiLabel, confidence, other } = shape;
  const choices = z.enum((other ? [...labels, other] : labels) as [string, ...string[]]);
  const score = z.number().min(0).max(1).describe('How sure you are, from 0 to 1.');
  const output = multiLabel
    ? z.object({
        labels: confidence
          ? z.array(z.object({ label: z.enum(labels as [string, ...string[]]), confidence: score }))
          : z.array(z.enum(labels as [string, ...string[]])),
      })
    : z.object(confidence ? { label: choices, confidence: score } : { label: choices });
  const list = labels.map((l) => `- ${l}${shape.descriptions?.[l] ? `: ${shape.descriptions[l]}` : ''}`).join('\n');
  const task = multiLabel
    ? 'Classify the text: give every label below that applies to it, or none if none applies.'
    : `Classify the text with exactly one label below.${other ? ` If none fits, answer "${other}".` : ''}`;
  return defineAgent({
    name: shape.name,
    description: multiLabel ? 'Tags a text with every label that applies.' : 'Classifies a text with one label.',
    input: z.object({ text: z.string() }),
    output,
    instructions: `${task}${confidence ? ' Also say how sure you are.' : ''}\n\nLabels:\n${list}${shape.instructions ? `\n\n${shape.instructions.trim()}` : ''}`,
    params: { temperature: 0 },
  });
}

const agents = new AgentCache<ReturnType<typeof buildAgent>>();
function agentFor(shape: Shape) {
  return agents.get(JSON.stringify(shape), () => buildAgent(shape));
}

/**
 * Classifies every item with the labels of a zod enum: one label, or every label that
 * applies; many items per model call; a confidence when asked; an abstain path (`other`
 * and/or `minConfidence`). Items that fail come back as `{ ok: false, error }`: none is lost.
 */
export async function classify<E extends z.ZodEnum>(options: ClassifyOptions<E>): Promise<ClassifyResult<z.output<E> & string>> {
  type L = z.output<E> & string;
  const started = performance.now();
  const parsed = parseOptions('classify()', optionsSchema, options);
  const labels = parsed.labels.options.map(String);
  const other = parsed.other === true ? 'other' : parsed.other === false ? undefined : parsed.other;
  if (parsed.multiLabel && other)
    throw new ShoalConfigError(
      'classify(): `other` is for single-label classification; with `multiLabel` an empty list of labels already means "none applies".',
    );
  if (other && labels.includes(other))
    throw new ShoalConfigError(
      `classify(): the abstain label "${other}" is already one of the labels; pass \`other: '<another name>'\` or leave it out of the enum.`,
    );
  if (parsed.minConfidence !== undefined && !parsed.confidence)
    throw new ShoalConfigError('classify(): `minConfidence` needs `confidence: true`, so that the model gives one.');
  for (const key of Object.keys(parsed.descriptions ?? {})) {
    if (labels.includes(key)) continue;
    const close = closestName(key, labels);
    throw new ShoalConfigError(
      `classify(): \`descriptions\` names "${key}", which is not a label.${close === undefined ? '' : ` Did you mean "${close}"?`} Labels: ${listValues(labels)}.`,
    );
  }
  const agent = agentFor({
    labels,
    multiLabel: parsed.multiLabel,
    confidence: parsed.confidence,
    other,
    descriptions: parsed.descriptions,
    instructions: parsed.instructions,
    name: parsed.name ?? 'shoal.classify',
  });
  const items = withIds(options.items);
  // One packed call per group, each admitted by the budget on its own; a group the budget stops is reported item by item.
  refuseUnpricedBudget(parsed.executor, parsed.budgetUsd, 'classify({ budgetUsd })');
  const scope = new CallScope(parsed.budgetUsd, parsed.signal);
  const entries: RunManyItem<unknown>[] = new Array(items.length);
  let packedCalls = 0;
  let done = 0;
  const groups: number[][] = [];
  for (let i = 0; i < items.length; i += parsed.pack) groups.push(items.slice(i, i + parsed.pack).map((_, j) => i + j));
  await scope.guard(() =>
    Promise.all(
      groups.map(async (group) => {
        try {
          const result = await scope.run(() =>
            agent.runMany(
              group.map((i) => ({ text: items[i]!.text })),
              { ...agentRunOptions(parsed, 'classify', scope), pack: parsed.pack },
            ),
          );
          packedCalls += result.packedCalls;
          result.items.forEach((item, j) => (entries[group[j]!] = item));
        } catch (error) {
          if (!BudgetExceededError.isInstance(error)) throw error;
          for (const i of group) entries[i] = { ok: false, error };
        }
        done += group.length;
        options.onProgress?.({ done, total: items.length, calls: scope.tally.calls, costUsd: scope.tally.costUsd });
      }),
    ),
  );
  const tally = scope.tally;
  const counts = Object.fromEntries(labels.map((l) => [l, 0])) as Record<L, number>;
  let abstained = 0;
  let failed = 0;
  const classified = entries.map((entry, i): ClassifiedItem<L> => {
    const id = items[i]!.id;
    if (!entry.ok) {
      failed++;
      return { id, ok: false, error: entry.error };
    }
    const answer = entry.output as { label?: string; labels?: (string | { label: string; confidence: number })[]; confidence?: number };
    let given: L[];
    let confidence: number | undefined;
    let confidences: Partial<Record<L, number>> | undefined;
    if (parsed.multiLabel) {
      const raw = answer.labels ?? [];
      given = [...new Set(raw.map((x) => (typeof x === 'string' ? x : x.label)))] as L[];
      if (parsed.confidence) {
        confidences = Object.fromEntries(raw.map((x) => (typeof x === 'string' ? [x, undefined] : [x.label, x.confidence]))) as Partial<Record<L, number>>;
        const values = Object.values(confidences).filter((v): v is number => typeof v === 'number');
        confidence = values.length > 0 ? Math.min(...values) : undefined;
      }
    } else {
      given = answer.label === other ? [] : [answer.label as L];
      confidence = answer.confidence;
    }
    let reason: false | 'other' | 'low-confidence' = !parsed.multiLabel && answer.label === other ? 'other' : false;
    let modelLabel: L | undefined;
    if (!reason && parsed.minConfidence !== undefined) {
      if (parsed.multiLabel) {
        // Per label: keep those sure enough; abstain if that leaves none of what the model gave.
        const kept = given.filter((l) => (confidences?.[l] ?? 0) >= parsed.minConfidence!);
        if (kept.length === 0 && given.length > 0) reason = 'low-confidence';
        modelLabel = given[0];
        given = kept;
        const keptValues = kept.map((l) => confidences?.[l]).filter((v): v is number => typeof v === 'number');
        confidence = keptValues.length > 0 ? Math.min(...keptValues) : confidence;
      } else if ((confidence ?? 0) < parsed.minConfidence) {
        reason = 'low-confidence';
        modelLabel = given[0];
        given = [];
      }
    }
    if (reason) abstained++;
    for (const l of given) counts[l]++;
    return {
      id,
      ok: true,
      label: given[0],
      labels: given,
      confidence,
      confidences,
      abstained: reason,
      modelLabel: reason === 'low-confidence' ? modelLabel : undefined,
    };
  });
  return {
    items: classified,
    counts,
    abstained,
    failed,
    calls: tally.calls,
    packedCalls,
    usage: tally.usage(),
    costUsd: tally.costUsd,
    durationMs: performance.now() - started,
  };
}
