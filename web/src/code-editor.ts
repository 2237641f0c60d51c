import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { HighlightStyle, bracketMatching, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, linter, type Diagnostic } from '@codemirror/lint';
import { EditorState, StateEffect, StateField, type Extension } from '@codemirror/state';
import { Decoration, EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers, type DecorationSet } from '@codemirror/view';
import { tags } from '@lezer/highlight';

/**
 * The two editors of the workbench, on CodeMirror 6 (a chunk of its own, loaded when a view
 * needs it): the claim text, with the places findings point at highlighted; and a pack's YAML,
 * highlighted and linted through the service as it is typed. Only what is on screen is drawn,
 * so a claim of 500 lines scrolls as smoothly as one of five.
 */

// Colours chosen for at least 4.5:1 against the white background (WCAG AA).
const yamlColours = HighlightStyle.define([
  { tag: tags.definition(tags.propertyName), color: '#1d4f91' },
  { tag: tags.propertyName, color: '#1d4f91' },
  { tag: [tags.string, tags.special(tags.string)], color: '#0b6b2b' },
  { tag: [tags.number, tags.bool, tags.null], color: '#8a3b00' },
  { tag: tags.comment, color: '#5c6470', fontStyle: 'italic' },
  { tag: [tags.keyword, tags.typeName, tags.labelName], color: '#6f2da8' },
  { tag: [tags.punctuation, tags.separator, tags.squareBracket, tags.brace], color: '#3b4048' },
]);

const base = (label: string): Extension[] => [
  lineNumbers(),
  history(),
  drawSelection(),
  highlightActiveLine(),
  bracketMatching(),
  // Tab is left to the page (keyboard users move on with it); indentation is typed with spaces.
  keymap.of([...defaultKeymap, ...historyKeymap]),
  EditorView.contentAttributes.of({ 'aria-label': label, 'aria-multiline': 'true', tabindex: '0' }),
  EditorView.theme({ '&': { fontSize: '13px', border: '1px solid #8a94a3', borderRadius: '4px' }, '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' } }),
];

export interface Highlight {
  from: number;
  to: number;
  /** The selected finding's place is shown stronger than the others. */
  active: boolean;
  severity: 'error' | 'warning' | 'info';
}

const setHighlights = StateEffect.define<Highlight[]>();

const highlightField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, tr) {
    value = value.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setHighlights)) continue;
      const length = tr.state.doc.length;
      const marks = effect.value
        .filter((h) => h.from < h.to && h.to <= length)
        .sort((a, b) => a.from - b.from || a.to - b.to)
        .map((h) => Decoration.mark({ class: `cm-finding cm-finding-${h.severity}${h.active ? ' cm-finding-active' : ''}`, attributes: h.active ? { 'data-active': 'true' } : {} }).range(h.from, h.to));
      value = Decoration.set(marks, true);
    }
    return value;
  },
  provide: (field) => EditorView.decorations.from(field),
});

export interface ClaimEditor {
  text(): string;
  setText(text: string): void;
  highlight(highlights: Highlight[], scrollTo?: { from: number; to: number }): void;
  focus(): void;
  destroy(): void;
}

export function createClaimEditor(parent: HTMLElement, text: string, label: string, onChange: () => void): ClaimEditor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [...base(label), highlightField, EditorView.updateListener.of((u) => u.docChanged && onChange())],
    }),
  });
  return {
    text: () => view.state.doc.toString(),
    setText(next) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } });
    },
    highlight(highlights, scrollTo) {
      view.dispatch({ effects: [setHighlights.of(highlights), ...(scrollTo ? [EditorView.scrollIntoView(scrollTo.from, { y: 'center' })] : [])] });
    },
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}

/** A problem at a line and column (1-based), as the service reports them. */
export interface LineDiagnostic {
  line: number;
  column: number;
  severity: 'error' | 'warning';
  code: string;
  message: string;
}

export interface YamlEditor {
  text(): string;
  setText(text: string): void;
  /** Moves the cursor to a line and column and shows it. */
  reveal(line: number, column: number): void;
  destroy(): void;
}

function toDiagnostic(view: EditorView, d: LineDiagnostic): Diagnostic {
  const doc = view.state.doc;
  const line = doc.line(Math.min(Math.max(1, d.line), doc.lines));
  const from = Math.min(line.from + Math.max(0, d.column - 1), line.to);
  // The token at the position, or the rest of the line when it is blank there.
  const rest = doc.sliceString(from, line.to);
  const token = /^[^\s:,[\]{}]+/.exec(rest)?.[0].length ?? rest.length;
  return { from, to: Math.max(from, from + token), severity: d.severity, message: `${d.line}:${d.column} ${d.message}`, source: d.code };
}

export function createYamlEditor(
  parent: HTMLElement,
  text: string,
  label: string,
  options: { lint: (text: string) => Promise<LineDiagnostic[]>; onChange: (text: string) => void },
): YamlEditor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        ...base(label),
        yaml(),
        syntaxHighlighting(yamlColours),
        EditorView.lineWrapping,
        lintGutter(),
        linter(async (v) => (await options.lint(v.state.doc.toString())).map((d) => toDiagnostic(v, d)), { delay: 350 }),
        EditorView.updateListener.of((u) => u.docChanged && options.onChange(u.state.doc.toString())),
      ],
    }),
  });
  return {
    text: () => view.state.doc.toString(),
    setText(next) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: next } });
    },
    reveal(line, column) {
      const l = view.state.doc.line(Math.min(Math.max(1, line), view.state.doc.lines));
      const at = Math.min(l.from + column - 1, l.to);
      view.dispatch({ selection: { anchor: at }, effects: EditorView.scrollIntoView(at, { y: 'center' }) });
      view.focus();
    },
    destroy: () => view.destroy(),
  };
}
