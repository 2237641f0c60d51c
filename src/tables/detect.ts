import { open } from 'node:fs/promises';
import path from 'node:path';
import { TABLE_FORMAT_DEFINITIONS } from './formats/index.js';
import type { RecognisedEdition, TableFormat, TableFormatDefinition } from './model.js';
import { memberBaseName, readSourceText, zipMemberSource } from './sources.js';
import { isZipFile, listZipMembers } from './zip.js';

/**
 * Which table format a file is, for `scrub tables verify` and `diff`, which are given files
 * rather than a pack's table: from its name (or the names inside its zip) as CMS names its
 * files, else from its first lines.
 */

export interface DetectedFile {
  file: string;
  format: TableFormat;
  definition: TableFormatDefinition<unknown>;
  /** The edition its name says, when it says one. */
  edition?: RecognisedEdition;
}

const SNIFF_BYTES = 16 << 10;

/** The first lines of a file, or of the first text member of its zip. */
async function head(file: string, members: string[]): Promise<string> {
  if (members.length > 0) {
    const text = members.find((m) => /\.(txt|csv|tsv)$/i.test(m));
    if (!text) return '';
    try {
      return (await readSourceText(zipMemberSource(file, text), 256 << 20)).slice(0, SNIFF_BYTES);
    } catch {
      return '';
    }
  }
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The format the first lines of a file look like, for files whose names say nothing. */
function formatOfContent(text: string): TableFormat | undefined {
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/).slice(0, 40);
  const first = (lines[0] ?? '').toLowerCase();
  if (/mce_edit_type/.test(first)) return 'mce-code-edits';
  if (/(^|,)"?hcpcs?"?,/.test(first) && /recid/.test(first)) return 'hcpcs';
  if (/place_of_service|(^|,)"?pos"?(,|$)/.test(first)) return 'place-of-service';
  if (lines.some((l) => /^\d{5} [A-Z][0-9A-Z][0-9A-Z ]{5} [01] /.test(l))) return 'icd-10-cm-order';
  if (/column1\/column2/i.test(text) || lines.some((l) => /^[0-9A-Z]{5}\t[0-9A-Z]{5}\t\*?\t\d{8}\t(\d{8}|\*)\t[019]\t/.test(l))) return 'ncci-ptp';
  if (/hcpcs\s*\/\s*cpt/i.test(text)) return 'mue';
  if (lines.some((l) => /^"?HCPCS"?,"?MOD"?,/i.test(l))) return 'mpfs-rvu';
  // The fixed-width PPRRVU: its header record, then records with the global days at 104-106.
  if (/^HDR/.test(lines[0] ?? '') && lines.slice(1).some((l) => /^[A-Z0-9]{5}/.test(l) && /^(000|010|090|MMM|XXX|YYY|ZZZ)$/.test(l.slice(103, 106)))) return 'mpfs-rvu';
  if (/aoc_edit_type/i.test(text)) return 'ncci-add-on';
  if (lines.some((l) => l.length >= 293 && /^[A-Z0-9 ]{5}\d{5}[3478]/.test(l))) return 'hcpcs';
  return undefined;
}

export async function detectFile(file: string): Promise<DetectedFile | undefined> {
  const members = (await isZipFile(file)) ? (await listZipMembers(file)).map((m) => memberBaseName(m.name)) : [];
  const names = [path.basename(file), ...members];
  for (const definition of TABLE_FORMAT_DEFINITIONS.values()) {
    const edition = definition.recognise?.(names);
    if (edition) return { file, format: definition.format, definition, edition };
  }
  const format = formatOfContent(await head(file, members));
  if (!format) return undefined;
  const definition = TABLE_FORMAT_DEFINITIONS.get(format)!;
  const edition = definition.recognise?.(names);
  return edition ? { file, format, definition, edition } : { file, format, definition };
}
