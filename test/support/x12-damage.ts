/**
 * Damaged copies of an X12 file, for tests that compare two ways of reading it: cut short,
 * trailers taken out, counts and control numbers changed, interchanges repeated, bytes after the
 * last IEA. Each is named so that a failing comparison says which damage it was.
 */
export function damagedCopies(text: string): Array<{ name: string; text: string }> {
  const terminator = text.length > 105 ? text[105]! : '~';
  const without = (id: string) =>
    text
      .split(terminator)
      .filter((s) => s.replace(/^\s+/, '').split(/[^A-Z0-9]/)[0] !== id)
      .join(terminator);
  const replaceFirst = (id: string, f: (segment: string) => string) => {
    const parts = text.split(terminator);
    const k = parts.findIndex((s) => s.replace(/^\s+/, '').startsWith(`${id}${text[3]}`));
    if (k >= 0) parts[k] = f(parts[k]!);
    return parts.join(terminator);
  };
  const element = text[3] ?? '*';
  return [
    { name: 'as sent', text },
    { name: 'cut at a third', text: text.slice(0, Math.floor(text.length / 3)) },
    { name: 'cut at four fifths', text: text.slice(0, Math.floor((text.length * 4) / 5)) },
    { name: 'no GE', text: without('GE') },
    { name: 'no IEA', text: without('IEA') },
    { name: 'no SE', text: without('SE') },
    { name: 'no GS', text: without('GS') },
    { name: 'SE count changed', text: replaceFirst('SE', (s) => s.replace(`SE${element}`, `SE${element}9`)) },
    { name: 'ISA padded wrongly', text: ` ${text.trimStart().replace(`ISA${element}00${element}`, `ISA${element}0${element}`)}` },
    { name: 'two interchanges', text: `${text}\n${text}` },
    { name: 'bytes after IEA', text: `${text}\nNOT X12 AT ALL${terminator}\nMORE${terminator}` },
    { name: 'HL parent changed', text: replaceFirst('HL', (s) => `${s}${element}7`) },
  ];
}
