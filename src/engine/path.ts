/**
 * The plain dot-path resolver used instead of json-rules-engine's JSONPath default (about
 * 3x faster): "billingProvider.npi", "modifiers.0", "diagnosisPointers.length". A leading
 * "$." is accepted for authors used to JSONPath; anything fancier is refused at load time.
 */

const PATH_SYNTAX = /^(\$\.)?[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*$/;

export function pathSyntaxProblem(path: string): string | undefined {
  if (PATH_SYNTAX.test(path)) return undefined;
  if (/[[*?@]|\.\./.test(path)) {
    return `path "${path}" uses JSONPath features; write a plain dotted path such as "billingProvider.npi" or "modifiers.0"`;
  }
  return `path "${path}" is not a dotted field path such as "billingProvider.npi"`;
}

const cache = new Map<string, readonly string[]>();

export function pathTokens(path: string): readonly string[] {
  let tokens = cache.get(path);
  if (!tokens) {
    tokens = (path.startsWith('$.') ? path.slice(2) : path).split('.');
    if (cache.size < 10_000) cache.set(path, tokens);
  }
  return tokens;
}

export function resolveTokens(value: unknown, tokens: readonly string[]): unknown {
  let current = value;
  for (const token of tokens) {
    if (current === null || current === undefined) return undefined;
    if (Array.isArray(current) || typeof current === 'string') {
      if (token === 'length') current = current.length;
      else if (Array.isArray(current) && /^\d+$/.test(token)) current = current[Number(token)];
      else return undefined;
    } else if (typeof current === 'object') {
      current = Object.prototype.hasOwnProperty.call(current, token)
        ? (current as Record<string, unknown>)[token]
        : undefined;
    } else {
      return undefined;
    }
  }
  return current;
}

export function resolvePath(value: unknown, path: string): unknown {
  return path === '' ? value : resolveTokens(value, pathTokens(path));
}
