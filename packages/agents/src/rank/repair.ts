/**
 * What a small model does to a list of ids, and how we undo it: an id may be left out,
 * repeated or invented. The repaired order keeps the first mention of every real id, drops
 * repeats and inventions, and appends the ids left out in the order they were shown, so
 * no item is ever lost or duplicated.
 */
export interface IdRepairs {
  /** Shown ids the answer left out (appended in shown order). */
  readonly missing: number;
  /** Mentions of an id already placed (dropped). */
  readonly repeated: number;
  /** Ids that were never shown (dropped). */
  readonly invented: number;
}

export const NO_REPAIRS: IdRepairs = Object.freeze({ missing: 0, repeated: 0, invented: 0 });

/**
 * `answer` holds 1-based positions into a list of `count` shown items, as the model wrote
 * them (numbers or numeric strings). Returns a permutation of 0..count-1.
 */
export function repairOrder(answer: readonly unknown[], count: number): { order: number[]; repairs: IdRepairs } {
  const placed = new Uint8Array(count);
  const order: number[] = [];
  let repeated = 0;
  let invented = 0;
  for (const raw of answer) {
    const position = toPosition(raw);
    if (position === undefined || position < 1 || position > count) {
      invented++;
      continue;
    }
    if (placed[position - 1]) {
      repeated++;
      continue;
    }
    placed[position - 1] = 1;
    order.push(position - 1);
  }
  let missing = 0;
  for (let i = 0; i < count; i++) {
    if (!placed[i]) {
      order.push(i);
      missing++;
    }
  }
  return { order, repairs: { missing, repeated, invented } };
}

/** A pick of one shown item (1-based); an invented pick falls back to the first shown item. */
export function repairPick(answer: unknown, count: number): { index: number; repairs: IdRepairs } {
  const position = toPosition(answer);
  if (position === undefined || position < 1 || position > count) return { index: 0, repairs: { missing: 0, repeated: 0, invented: 1 } };
  return { index: position - 1, repairs: NO_REPAIRS };
}

export function addRepairs(a: IdRepairs, b: IdRepairs): IdRepairs {
  return { missing: a.missing + b.missing, repeated: a.repeated + b.repeated, invented: a.invented + b.invented };
}

function toPosition(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isInteger(raw) ? raw : undefined;
  if (typeof raw === 'string') {
    // "3", "[3]", "#3", "passage 3": the number is what counts.
    const match = /^\s*(?:\[|#|passage\s*)?(\d+)\]?\s*$/i.exec(raw);
    return match ? Number(match[1]) : undefined;
  }
  return undefined;
}
