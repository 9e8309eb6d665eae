/**
 * A binary max-heap of waiting calls: higher `priority` first, lower `seq` (earlier
 * arrival) first within a priority. O(log n) insert and removal, so a million waiting
 * calls of mixed priority enqueue in about a second (p-queue's array queue inserts in
 * O(n) with mixed priorities).
 */
export interface HeapItem {
  readonly priority: number;
  readonly seq: number;
}

function before(a: HeapItem, b: HeapItem): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

export class PriorityHeap<T extends HeapItem> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    let i = items.length;
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (!before(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    const n = items.length;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, last)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }

  /** Every item, unordered, without removing them. */
  items(): readonly T[] {
    return this.#items;
  }

  /** Removes and returns every item (unordered). */
  drain(): T[] {
    return this.#items.splice(0, this.#items.length);
  }
}
