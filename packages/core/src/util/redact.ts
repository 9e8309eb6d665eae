/** Replaces every known secret, and anything shaped like a bearer credential, with a marker. */
const BEARER = /(Bearer\s+)[^\s"',;]+/gi;
export const REDACTED = '[redacted]';

export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  return withoutSecrets(text, secrets).replace(BEARER, `$1${REDACTED}`);
}

/**
 * Replaces the known secrets only, leaving the rest as it is: for a model's answer, which
 * may talk of "Bearer tokens" but must never carry the key (a proxy that echoes requests,
 * a backend that quotes its input), lest shoal quote it on in a re-ask, an error or a store.
 */
export function withoutSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    // Short strings would redact ordinary words; real keys are long.
    if (secret && secret.length >= 8 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** Redacts and cuts a raw body to a size fit for an error message. */
export function rawForError(text: string, secrets: readonly (string | undefined)[], maxChars = 4096): string {
  // Redact first: a cut could split a secret and leave a prefix no longer recognisable as one.
  const clean = redact(text, secrets);
  return clean.length > maxChars ? `${clean.slice(0, maxChars)}… (${clean.length - maxChars} more chars)` : clean;
}
