import { EventEmitter } from 'eventemitter3';
import type { Clock } from '../util/clock.js';
import { reportListenerError } from '../util/listener-error.js';
import type { Call } from './call.js';
import type { ExecutorEvents } from './events.js';

type Payload<E extends keyof ExecutorEvents> = Parameters<ExecutorEvents[E]>[0];
type CallEventName = { [E in keyof ExecutorEvents]: Payload<E> extends { readonly callId: string } ? E : never }[keyof ExecutorEvents];
type CallBase = 'callId' | 'at' | 'tags' | 'spanId';

/**
 * The executor's events. A throwing listener never breaks the executor: the queue, the
 * slots and the other callers carry on, and the listener's error is reported
 * (`reportListenerError`: to `listener-error` listeners, else thrown again on its own).
 */
export class ExecutorEmitter {
  readonly events = new EventEmitter<ExecutorEvents>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Whether anybody listens: the hottest paths ask first, so that they build no payload for nobody. */
  has(name: keyof ExecutorEvents): boolean {
    return this.events.listenerCount(name) > 0;
  }

  /** A call's event: its id, time, tags and span are filled in. Nothing is sent when nobody listens. */
  call<E extends CallEventName>(name: E, call: Call, extra: Omit<Payload<E>, CallBase> & { readonly at?: number }): void {
    if (this.events.listenerCount(name) === 0) return;
    const options = call.options;
    this.#send(name, { callId: call.id, at: this.#clock.now(), tags: options?.tags, spanId: options?.spanId, ...extra } as Payload<E>);
  }

  /** Any event, when somebody listens. */
  emit<E extends keyof ExecutorEvents>(name: E, payload: Payload<E>): void {
    if (this.events.listenerCount(name) > 0) this.#send(name, payload);
  }

  #send<E extends keyof ExecutorEvents>(name: E, payload: Payload<E>): void {
    try {
      (this.events.emit as (name: E, payload: Payload<E>) => boolean)(name, payload);
    } catch (error) {
      reportListenerError(this.events, name, error);
    }
  }
}
