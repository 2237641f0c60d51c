/**
 * A request's URL as logs and answers may show it: the path (cut to a length), then the query
 * with the value of every parameter the API does not define replaced, so that a key a client
 * puts in the URL (?api_key=...) reaches no log line. Keys belong in the Authorization or
 * X-API-Key header, which are redacted too.
 */

/** Query parameters of the API, whose values are safe to log (they are checked, and short). */
const KNOWN_PARAMETERS = new Set(['explain', 'asOf']);
const MAX_PATH = 200;
const MAX_VALUE = 32;
export const REDACTED = '[redacted]';

export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const path = rawPath.length > MAX_PATH ? `${rawPath.slice(0, MAX_PATH)}...` : rawPath;
  if (q === -1) return path;
  const parts = url
    .slice(q + 1)
    .split('&')
    .filter((p) => p !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      // A bare word could be the key itself.
      if (eq === -1) return REDACTED;
      const name = part.slice(0, eq);
      const value = part.slice(eq + 1);
      if (KNOWN_PARAMETERS.has(name)) return `${name}=${value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}...` : value}`;
      return `${name.length > MAX_VALUE ? REDACTED : name}=${REDACTED}`;
    });
  return parts.length === 0 ? path : `${path}?${parts.join('&')}`;
}
