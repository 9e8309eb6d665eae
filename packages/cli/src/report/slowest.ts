import type { SlowCall } from './types.js';

/** The `size` slowest calls seen, kept sorted (slowest first) as they stream by. */
export class SlowestCalls {
  readonly #calls: SlowCall[] = [];

  constructor(private readonly size: number) {}

  add(call: SlowCall): void {
    const calls = this.#calls;
    if (calls.length === this.size && call.ms <= calls[calls.length - 1]!.ms) return;
    let i = calls.length;
    while (i > 0 && calls[i - 1]!.ms < call.ms) i--;
    calls.splice(i, 0, call);
    if (calls.length > this.size) calls.pop();
  }

  list(): readonly SlowCall[] {
    return this.#calls;
  }
}
