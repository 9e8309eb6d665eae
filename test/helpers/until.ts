/**
 * Resolves once `ready()` holds, checking after each turn of the event loop (no fixed
 * sleep). A condition that never comes fails with a message after `maxTurns` turns, rather
 * than spinning until the test's timeout.
 */
export function until(ready: () => boolean, what = 'the condition', maxTurns = 2_000_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let turns = 0;
    const check = () => {
      if (ready()) resolve();
      else if (++turns > maxTurns) reject(new Error(`until(): ${what} did not hold after ${maxTurns} turns of the event loop`));
      else setImmediate(check);
    };
    check();
  });
}
