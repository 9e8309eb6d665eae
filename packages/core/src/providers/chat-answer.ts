import { z } from 'zod';
import { isPlainObject } from '../util/options.js';

/** A chat completion's answer, as much of it as shoal reads. */
export const completionSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        message: z.looseObject({ content: z.string().nullable().optional(), refusal: z.string().nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
  usage: z.unknown().optional(),
  model: z.string().optional(),
  id: z.string().optional(),
});

export type Completion = z.output<typeof completionSchema>;

/** Whether `completionSchema` accepts `payload`, checked without zod (the hot path): the same rules, by hand. */
export function isPlainCompletion(payload: unknown): payload is Completion {
  if (!isPlainObject(payload)) return false;
  // `usage` may have any shape: extractUsage reads what it can.
  const { choices, model } = payload as { choices?: unknown; model?: unknown };
  if (!Array.isArray(choices) || choices.length === 0 || (model !== undefined && typeof model !== 'string')) return false;
  for (const choice of choices) {
    if (!isPlainObject(choice)) return false;
    const message = (choice as { message?: unknown }).message;
    if (!isPlainObject(message)) return false;
    const { content, refusal } = message as { content?: unknown; refusal?: unknown };
    if (content !== undefined && content !== null && typeof content !== 'string') return false;
    if (refusal !== undefined && refusal !== null && typeof refusal !== 'string') return false;
    const finish = (choice as { finish_reason?: unknown }).finish_reason;
    if (finish !== undefined && finish !== null && typeof finish !== 'string') return false;
  }
  const id = (payload as { id?: unknown }).id;
  return id === undefined || typeof id === 'string';
}
