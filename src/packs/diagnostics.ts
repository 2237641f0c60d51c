/** A problem found while loading or linting a rule pack, at a file:line:column a person can open. */
export interface PackDiagnostic {
  file: string;
  line: number;
  column: number;
  severity: 'error' | 'warning';
  /** Stable id of the kind of problem, e.g. "unknown-operator". */
  code: string;
  message: string;
}

export function formatDiagnostic(d: PackDiagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity} [${d.code}] ${d.message}`;
}

export function compareDiagnostics(a: PackDiagnostic, b: PackDiagnostic): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column;
}

/** Thrown when a pack set cannot be loaded; carries every problem, not just the first. */
export class PackLoadError extends Error {
  readonly diagnostics: PackDiagnostic[];
  constructor(diagnostics: PackDiagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    super(
      `${errors.length} problem${errors.length === 1 ? '' : 's'} in the rule packs:\n` +
        errors.map(formatDiagnostic).join('\n'),
    );
    this.name = 'PackLoadError';
    this.diagnostics = diagnostics;
  }
}
