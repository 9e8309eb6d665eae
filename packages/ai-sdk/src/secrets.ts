/**
 * The secrets an AI SDK model sends, to take out of any text shoal quotes back (a server's
 * error body that echoes the key, a model's answer). shoal never sees the key itself: the
 * AI SDK provider holds it. So, best effort, read where the AI SDK's own providers keep
 * their request headers (`config.headers()`, `config.url()`, the shape of every provider
 * built on `@ai-sdk/provider-utils`) and take the header values and query values found
 * there, with the headers given to `aiSdk()`. A model that keeps them elsewhere (a
 * middleware around one) is covered by core's bearer-shape redaction and by shoal never
 * quoting the SDK's URL, request body or headers.
 */

/** Header names whose values are not secret and would only blank out ordinary text. */
const PUBLIC_HEADERS = new Set(['user-agent', 'content-type', 'accept']);

export function modelSecrets(model: object, headers: Readonly<Record<string, string | undefined>> | undefined): string[] {
  const found: string[] = [];
  const addHeaders = (value: unknown) => {
    if (typeof value !== 'object' || value === null || typeof (value as PromiseLike<unknown>).then === 'function') return;
    for (const [name, item] of Object.entries(value)) {
      if (typeof item !== 'string' || PUBLIC_HEADERS.has(name.toLowerCase())) continue;
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
        for (const value of url.searchParams.values()) found.push(value);
        if (url.password) found.push(decodeURIComponent(url.password));
      }
    } catch {
      // Not a URL: nothing to take from it.
    }
  }
  return found;
}
