import type { InputItem } from '../items.js';
import { badInput, type ItemOutcome } from '../outcome.js';

/** An input item read as a text: a JSON string, or an object's text field (a CSV column). */
export interface TextItem {
  readonly index: number;
  readonly id: string;
  readonly text: string;
}

/**
 * The texts the ready-made commands work on. A line is a JSON string, or an object with
 * the text in `field` (default "text"); anything else is a BAD_INPUT line with its number.
 */
export function textItems(items: readonly InputItem[], field: string): { texts: TextItem[]; known: Map<number, ItemOutcome> } {
  const texts: TextItem[] = [];
  const known = new Map<number, ItemOutcome>();
  items.forEach((item, index) => {
    if (!item.ok) {
      known.set(index, badInput(item.reason, item.line));
      return;
    }
    const value = item.value;
    const text = typeof value === 'string' ? value : typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[field] : undefined;
    if (typeof text === 'string' && text.trim() !== '') texts.push({ index, id: item.id, text });
    else {
      known.set(
        index,
        badInput(`line ${item.line} has no text: give a JSON string, or an object with a non-empty "${field}" (--field names another)`, item.line),
      );
    }
  });
  return { texts, known };
}
