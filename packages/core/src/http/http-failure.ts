/** Why a request failed before a full answer arrived. */
export type HttpFailureKind =
  /** The request was provably not processed: connection refused, DNS, a proxy refusing the tunnel, or a reused keep-alive socket reset before any answer. */
  | 'not-sent'
  /** The request may have reached the server: the answer was lost (reset or timeout after sending). */
  | 'answer-lost'
  /** The answer was larger than allowed. */
  | 'too-large'
  | 'aborted';

/** A request that got no complete answer; the providers turn it into a typed shoal error. */
export class HttpFailure extends Error {
  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    readonly errorCode: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
