import { ShoalConfigError } from '../errors.js';
import { describeValue } from './describe.js';
import { REDACTED, withoutSecrets } from './redact.js';

/**
 * Query parameters that carry credentials by their name. A key pasted into a base URL is
 * dropped from every request (shoal sends only the URL's origin and path), and would be
 * printed wherever the URL is shown (`util.inspect`, logs, errors): refused instead.
 */
const KEY_LIKE =
  /^(?:x[-_]?)?(?:api[-_]?key|key|token|access[-_]?token|auth|authorization|bearer|password|passwd|pwd|secret|client[-_]?secret|sig|signature|session)$/i;

/** True when a query parameter's name says it holds a credential. */
function isKeyLikeParameter(name: string): boolean {
  return KEY_LIKE.test(name);
}

/**
 * Checks an http(s) URL option and returns it. Refuses a user name or password in it, a
 * key-like query parameter, or one of `secrets` anywhere in it, with `advice` on where the
 * key goes instead; and any other query string or fragment, which would be dropped. The
 * messages never show a credential, only where it was.
 */
export function expectHttpUrl(
  name: string,
  value: unknown,
  secrets: readonly (string | undefined)[] = [],
  advice = 'Pass the key as `apiKey` instead.',
): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    const shown = typeof value === 'string' ? describeValue(hideCredentials(value)) : describeValue(value);
    throw new ShoalConfigError(`Expected \`${name}\` to be an http(s) URL such as "https://api.shortapi.ai", got ${withoutSecrets(shown, secrets)}.`);
  }
  const text = value as string;
  const where = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  const refuse = (what: string) =>
    new ShoalConfigError(
      `\`${name}\` holds a credential (${what}): shoal does not send a key from a URL, and a URL is shown wherever it is printed. Remove it from the URL. ${advice}`,
    );
  if (url.username !== '' || url.password !== '') {
    throw refuse(`a ${url.password !== '' ? 'password' : 'user name'} before the host, as in \`${url.protocol}//${REDACTED}@${url.host}\``);
  }
  for (const parameter of new Set(url.searchParams.keys())) {
    if (isKeyLikeParameter(parameter)) throw refuse(`the query parameter \`${safeName(parameter)}\`, as in \`${where}?${safeName(parameter)}=${REDACTED}\``);
  }
  for (const secret of secrets) {
    if (secret && secret.length >= 8 && (text.includes(secret) || safeDecode(text).includes(secret))) throw refuse('your API key, pasted into it');
  }
  if (url.search !== '' || url.hash !== '') {
    const names = [...new Set(url.searchParams.keys())].map(safeName);
    const parts = [
      url.search !== '' ? `a query string (${names.map((n) => `\`${n}\``).join(', ') || '`?`'})` : '',
      url.hash !== '' ? 'a fragment (`#...`)' : '',
    ].filter(Boolean);
    throw new ShoalConfigError(
      `\`${name}\` has ${parts.join(' and ')}, which would be dropped from every request: shoal appends its own paths to the URL's origin and path. Remove ${parts.length > 1 ? 'them' : 'it'}, e.g. "${where}".`,
    );
  }
  return text;
}

/** A parameter name fit to show: short, and without anything that looks like a value. */
function safeName(name: string): string {
  return name.length > 32 ? `${name.slice(0, 29)}...` : name;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** `scheme://user:pass@host` with the credentials replaced, for a URL that does not parse. */
function hideCredentials(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, `$1${REDACTED}@`);
}
