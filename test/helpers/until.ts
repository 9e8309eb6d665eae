/** Resolves once `ready()` holds, checking after each turn of the event loop (no fixed sleep). */
export function until(ready: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (ready() ? resolve() : setImmediate(check));
    check();
  });
}
