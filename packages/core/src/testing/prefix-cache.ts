import { createHash } from 'node:crypto';

/**
 * Emulates a provider prefix cache the way OpenAI documents theirs: prompts of 1,024
 * tokens or more are cached in steps of 128 tokens, and a prompt hits the longest
 * step-aligned prefix seen before. Returns how many input tokens were cached.
 */
export class PrefixCache {
  readonly #seen = new Set<string>();

  cachedTokens(tokens: readonly number[]): number {
    if (tokens.length < 1024) return 0;
    const hash = createHash('sha1');
    const buffer = Uint32Array.from(tokens);
    let cached = 0;
    let hashedUpTo = 0;
    for (let boundary = 1024; boundary <= tokens.length; boundary += 128) {
      hash.update(new Uint8Array(buffer.buffer, hashedUpTo * 4, (boundary - hashedUpTo) * 4));
      hashedUpTo = boundary;
      const key = hash.copy().digest('base64');
      if (this.#seen.has(key)) cached = boundary;
      else this.#seen.add(key);
    }
    return cached;
  }
}
