/**
 * A signal that never fires, for work no caller can cancel. Code that would listen to a
 * signal skips this one: EventTarget listeners cost a few microseconds per call, which
 * shows at tens of thousands of calls per second.
 */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;
