import { PriorityHeap } from './heap.js';

/** What the queue orders: higher `priority` first, lower `seq` (earlier arrival) first within one. */
export interface QueueEntry {
  /** Higher goes first. */
  readonly priority: number;
  /** Arrival order, within one priority: lower goes first. */
  readonly seq: number;
  /** The caller's signal, if any: `cancel(signal)` finds the entries waiting on it. */
  readonly signal: AbortSignal | undefined;
}

/**
 * The queue seam: where calls wait for a slot. The default is an in-process binary heap;
 * `createExecutor({ queue })` takes another.
 *
 * The dispatcher looks at the head (`peek`) and checks it against the slots, the rate
 * limiter and the budget before it `take`s it, all within one tick, so these methods are
 * synchronous. A backend whose entries live in another process (a Redis queue) serves
 * them from a local window it fills asynchronously, and calls `onReady`'s callback when
 * entries arrive so that the dispatcher looks again.
 *
 * Entries the executor has settled meanwhile (cancelled, timed out) may stay queued: the
 * dispatcher skips them when they reach the head, so `cancel` need not remove anything.
 */
export interface CallQueue<T extends QueueEntry = QueueEntry> {
  /** Entries held, settled ones not yet skipped included. */
  readonly size: number;
  /** Adds an entry. */
  enqueue(entry: T): void;
  /** The next entry, without removing it. */
  peek(): T | undefined;
  /** Removes and returns the next entry. */
  take(): T | undefined;
  /** The waiting entries whose `signal` is `signal` (it fired: the executor settles them). */
  cancel(signal: AbortSignal): T[];
  /** Removes and returns every entry, in no particular order. */
  drain(): T[];
  /** Called once by the executor: `wake` makes the dispatcher look at the queue again. */
  onReady?(wake: () => void): void;
}

/** Makes one queue per executor. */
export type CallQueueFactory = <T extends QueueEntry>() => CallQueue<T>;

/** The default queue: a heap in this process (the heap's own methods, no wrapper on the hot path). */
class HeapQueue<T extends QueueEntry> extends PriorityHeap<T> implements CallQueue<T> {
  enqueue(entry: T): void {
    this.push(entry);
  }

  take(): T | undefined {
    return this.pop();
  }

  cancel(signal: AbortSignal): T[] {
    return this.items().filter((entry) => entry.signal === signal);
  }
}

export function heapQueue<T extends QueueEntry>(): CallQueue<T> {
  return new HeapQueue<T>();
}
