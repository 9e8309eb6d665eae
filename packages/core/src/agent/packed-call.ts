import { z } from 'zod';
import { findJson } from '../structured/extract-json.js';
import { PACK_INSTRUCTIONS, stablePrefix } from './prompt.js';

/**
 * The parts of a packed call (runMany with `pack`): several inputs in one model call, each
 * under a short id local to the call, answered as one object keyed by those ids.
 */

/** The stable prompt start of an agent's packed calls: one compact schema for any group size, so it stays byte-for-byte the same. */
export function packedPrefix(instructions: string, answerSchema: Record<string, unknown>): string {
  return stablePrefix({
    instructions: `${instructions.trim()}\n\n${PACK_INSTRUCTIONS}`,
    schemaText: JSON.stringify({ type: 'object', additionalProperties: answerSchema }),
    examples: [],
  });
}

/**
 * The schema sent as `response_format` for a packed call of `ids`: every id a required
 * property, so strict structured output can enforce the whole answer.
 */
export function packedResponseSchema(answerSchema: Record<string, unknown>, ids: readonly string[]): Record<string, unknown> {
  // The answer schema's own $defs move up to the root, where its "#/$defs/..." references resolve.
  const { $defs, ...answer } = answerSchema as { $defs?: Record<string, unknown> };
  return {
    type: 'object',
    $defs: { ...$defs, answer },
    properties: Object.fromEntries(ids.map((id) => [id, { $ref: '#/$defs/answer' }])),
    required: [...ids],
    additionalProperties: false,
  };
}

const packedItem = z.object({ id: z.union([z.string(), z.number()]).transform(String), output: z.unknown() });

/**
 * The answers in a packed call's text, as [id, value] in the order written: the asked-for
 * object keyed by id, or an array of `{ id, output }`. None when the text holds neither.
 * Values are not checked here, and ids may be invented or repeated.
 */
export function packedAnswers(text: string): [string, unknown][] {
  const found = findJson(text);
  if (!found.ok || typeof found.value !== 'object' || found.value === null) return [];
  if (!Array.isArray(found.value)) return Object.entries(found.value as Record<string, unknown>);
  return found.value.flatMap((raw) => {
    const item = packedItem.safeParse(raw);
    return item.success ? [[item.data.id, item.data.output] as [string, unknown]] : [];
  });
}
