/**
 * Packed calls' batches, cut by input line: batch k holds the good items of lines kK to
 * (k+1)K-1. So fixing a bad line, or removing one, changes only its own batch: the others
 * keep the same prompts, and a rerun with the same `--store` takes them from its cache
 * rather than paying again.
 */
export function batchesByIndex<T extends { readonly index: number }>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let key = -1;
  for (const item of items) {
    const k = Math.floor(item.index / size);
    if (k !== key && current.length > 0) {
      batches.push(current);
      current = [];
    }
    key = k;
    current.push(item);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
