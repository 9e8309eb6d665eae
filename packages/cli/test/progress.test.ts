import { Writable } from 'node:stream';
import { createExecutor } from '@shoal/core';
import { scriptedProvider } from '@shoal/core/testing';
import { describe, expect, it } from 'vitest';
import { Progress } from '../src/progress.js';

function capture(tty: boolean) {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: tty, columns: 120, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream, text: () => text };
}

describe('progress (time injected)', () => {
  it('off a terminal: a plain line every `everySeconds`, with items, rate, ETA and USD, and one at the end', async () => {
    const executor = createExecutor({ provider: scriptedProvider([]) });
    let now = 0;
    const out = capture(false);
    const progress = new Progress({ total: 100, executor, stream: out.stream, everySeconds: 5, now: () => now, timer: false });
    now = 1_000;
    progress.add(10, 0);
    expect(out.text()).toBe(''); // under 5 s since the start
    now = 5_000;
    progress.add(40, 2);
    expect(out.text()).toBe('  progress: 50/100 items (2 failed), 0 calls, 10.0 items/s, ETA 5.00 s, $0.000000\n');
    now = 7_000;
    progress.add(50, 0);
    progress.end();
    expect(out.text().split('\n')[1]).toBe('  progress: 100/100 items (2 failed), 0 calls, 14.3 items/s, done, $0.000000');
    await executor.close();
  });

  it('on a terminal: a bar redrawn in place (cli-progress), completed at the end', async () => {
    const executor = createExecutor({ provider: scriptedProvider([]) });
    const out = capture(true);
    const progress = new Progress({ total: 4, executor, stream: out.stream, now: () => 0 });
    progress.add(4, 0);
    progress.end();
    expect(out.text()).toMatch(/█+ 4\/4 items \| 0 calls/);
    await executor.close();
  });
});
