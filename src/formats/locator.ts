import type { FindingSource } from '../findings/finding.js';
import type { Locator } from './types.js';

/**
 * Where each canonical field came from, keyed by JSON Pointer. A finding often points at a
 * field that is absent (a missing NDC, an empty modifier list), so lookups fall back to the
 * nearest recorded ancestor: "/lines/1/ndc" finds "/lines/1" (the line's service segment).
 */
export class SourceMap {
  private readonly sources = new Map<string, FindingSource>();

  /** Records the first source given for a pointer; later ones (repeats in the file) do not override it. */
  record(pointer: string, source: FindingSource): void {
    if (!this.sources.has(pointer)) this.sources.set(pointer, source);
  }

  /** Replaces the source of a pointer (for fields whose better source is only known later). */
  replace(pointer: string, source: FindingSource): void {
    this.sources.set(pointer, source);
  }

  has(pointer: string): boolean {
    return this.sources.has(pointer);
  }

  locate(pointer: string): FindingSource | undefined {
    let p = pointer;
    for (;;) {
      const hit = this.sources.get(p);
      if (hit) return hit;
      if (p === '') return undefined;
      // Escaped "/" inside a token is "~1", so the last "/" always starts the last token.
      const cut = p.lastIndexOf('/');
      p = cut <= 0 ? '' : p.slice(0, cut);
    }
  }

  get size(): number {
    return this.sources.size;
  }

  locator(): Locator {
    return (pointer) => this.locate(pointer);
  }
}
