/**
 * The secrets an AI SDK model sends, to take out of any text shoal quotes back (a server's
 * error body that echoes the key, a model's answer). shoal never sees the key itself: the
 * AI SDK provider holds it. So, best effort, read where the AI SDK's own providers keep
 * their request headers (`config.headers()`, `config.url()`, the shape of every provider
 * built on `@ai-sdk/provider-utils`) and take the header values and query values found
 * there (those whose names say they are credentials), with the headers given to `aiSdk()`. A model that keeps them elsewhere (a
 * middleware around one) is covered by core's bearer-shape redaction and by shoal never
 * quoting the SDK's URL, request body or headers.
 */

/**
 * Header and query names that carry credentials: only their values are taken. Every other
 * value (`anthropic-version: 2023-06-01`, `X-Title: Ticket triage`, `api-version=...`) is
 * ordinary text that a model's answer may well contain, and must not be blanked out of it.
 */
const CREDENTIAL_NAME = /auth|key|token|secret|cookie|signature|credential|password|session/i;

export function modelSecrets(model: object, headers: Readonly<Record<string, string | undefined>> | undefined): string[] {
  const found: string[] = [];
  const addHeaders = (value: unknown) => {
    if (typeof value !== 'object' || value === null) return;
    if (typeof (value as PromiseLike<unknown>).then === 'function') {
      // Headers made asynchronously (a token fetched per request, as Vertex does): not read here, and a rejection
      // (no credentials) must not go unhandled; the call itself will say what is wrong.
      Promise.resolve(value).catch(() => {});
      return;
    }
    for (const [name, item] of Object.entries(value)) {
      if (typeof item !== 'string' || item === '' || !CREDENTIAL_NAME.test(name)) continue;
      found.push(item);
      // "Bearer <key>": the key alone, as a server would echo it.
      const credential = /^\s*(?:bearer|basic|token)\s+(\S+)/i.exec(item);
      if (credential) found.push(credential[1]!);
    }
  };
  addHeaders(headers);
  const config = (model as { config?: { headers?: unknown; url?: unknown } }).config;
  if (typeof config === 'object' && config !== null) {
    try {
      addHeaders(typeof config.headers === 'function' ? (config.headers as () => unknown)() : config.headers);
    } catch {
      // A provider whose key is not set throws here; it will say so on the call itself.
    }
    try {
      if (typeof config.url === 'function') {
        const url = new URL(String((config.url as (o: { path: string; modelId: string }) => unknown)({ path: '', modelId: '' })));
        for (const [name, value] of url.searchParams) if (value !== '' && CREDENTIAL_NAME.test(name)) found.push(value);
        if (url.password) found.push(decodeURIComponent(url.password));
      }
    } catch {
      // Not a URL: nothing to take from it.
    }
  }
  return found;
}
