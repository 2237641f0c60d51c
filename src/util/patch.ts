/**
 * Small edits to a JSON value by path, for test cases that start from a fixture claim:
 * "lines[0].modifiers" or "/lines/0/modifiers". Setting the index just past the end of a list
 * appends; missing objects on the way are created.
 */

import { parsePointer } from './json-pointer.js';
import { prototypeKeyProblem } from './safe-json.js';

/**
 * The steps of a path. A step that would reach an object's prototype (__proto__, constructor,
 * prototype) is refused wherever it is: setting or deleting through it would change every
 * object in the process.
 */
export function pathToTokens(path: string): string[] {
  const tokens = splitPath(path);
  for (const t of tokens) {
    const problem = prototypeKeyProblem(t);
    if (problem) throw new Error(`"${path}": ${problem}`);
  }
  return tokens;
}

function splitPath(path: string): string[] {
  if (path.startsWith('/')) return parsePointer(path);
  const tokens: string[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let consumed = 0;
  for (const m of path.matchAll(re)) {
    tokens.push(m[1] ?? m[2]!);
    consumed += m[0].length;
  }
  const separators = path.length - consumed;
  if (tokens.length === 0 || separators > tokens.length) throw new Error(`"${path}" is not a path such as lines[0].modifiers`);
  return tokens;
}

function isIndex(token: string): boolean {
  return /^\d+$/.test(token);
}

export function setAt(root: unknown, path: string, value: unknown): void {
  const tokens = pathToTokens(path);
  let node = root as Record<string, unknown>;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i]!;
    let next = (node as Record<string, unknown>)[t];
    if (next === undefined || next === null || typeof next !== 'object') {
      next = isIndex(tokens[i + 1]!) ? [] : {};
      assign(node, t, next, path);
    }
    node = next as Record<string, unknown>;
  }
  assign(node, tokens[tokens.length - 1]!, value, path);
}

function assign(node: unknown, token: string, value: unknown, path: string): void {
  if (Array.isArray(node)) {
    if (!isIndex(token) || Number(token) > node.length) {
      throw new Error(`"${path}": position ${token} is past the end of a list of ${node.length}`);
    }
    node[Number(token)] = value;
  } else {
    (node as Record<string, unknown>)[token] = value;
  }
}

export function removeAt(root: unknown, path: string): void {
  const tokens = pathToTokens(path);
  let node: unknown = root;
  for (const t of tokens.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return;
    node = (node as Record<string, unknown>)[t];
  }
  const last = tokens[tokens.length - 1]!;
  if (Array.isArray(node) && isIndex(last)) node.splice(Number(last), 1);
  else if (node && typeof node === 'object') delete (node as Record<string, unknown>)[last];
}
