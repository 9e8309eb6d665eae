/** An emitter with a `listener-error` event, as the executor's and the coordinator's are. */
interface ListenerErrorEmitter {
  listenerCount(event: 'listener-error'): number;
  emit(event: 'listener-error', payload: { readonly event: string; readonly error: unknown }): boolean;
}

/**
 * A listener (or telemetry backend) of `event` threw: the error goes to `listener-error`
 * listeners on `events`, or, when there are none (or one of them throws too), is thrown
 * again on its own, as an uncaught exception, as any failing callback would be. Never
 * swallowed, and never thrown into the code that emitted.
 */
export function reportListenerError(events: ListenerErrorEmitter | undefined, event: string, error: unknown): void {
  if (events && event !== 'listener-error' && events.listenerCount('listener-error') > 0) {
    try {
      events.emit('listener-error', { event, error });
      return;
    } catch (failure) {
      error = failure; // the listener-error listener threw: the first error reached it, this one goes on
    }
  }
  queueMicrotask(() => {
    throw error;
  });
}
