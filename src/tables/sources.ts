import { open } from 'node:fs/promises';
import path from 'node:path';
import { TableFileError } from './model.js';
import { isZipFile, listZipMembers, openZipMember, type ZipMember } from './zip.js';

/**
 * What a table reader reads: a plain file, or one member of a zip archive as CMS ships it
 * (users drop the zip they downloaded into the tables folder; nobody unzips anything).
 */

export interface ByteReader {
  /** Reads up to `length` bytes into `buffer` at `offset`; 0 at the end. */
  read(buffer: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export interface TableSource {
  /** As messages name it: the file, or "archive.zip!member.txt" for a member of a zip. */
  readonly name: string;
  /** The file on disk. */
  readonly file: string;
  /** The member of the zip archive `file`, when it is one. */
  readonly member?: string;
  open(): Promise<ByteReader>;
}

/** Which members of a zip archive hold a table of one format (its data files, not its PDFs). */
export type MemberChooser = (members: readonly ZipMember[]) => ZipMember[];

export function fileSource(file: string): TableSource {
  return {
    name: file,
    file,
    async open() {
      const handle = await open(file, 'r');
      return {
        read: async (buffer, offset, length) => (await handle.read(buffer, offset, length, null)).bytesRead,
        close: () => handle.close(),
      };
    },
  };
}

export function zipMemberSource(file: string, member: string): TableSource {
  return { name: `${file}!${member}`, file, member, open: () => openZipMember(file, member) };
}

/** The base name of a member, without the folders a zip may put it in. */
export function memberBaseName(member: string): string {
  return path.posix.basename(member.replace(/\\/g, '/'));
}

/**
 * The sources of a table's files: a plain file is itself; a zip archive gives the members
 * `choose` picks, and is refused, naming what it holds, when it has none of them.
 */
export async function tableSources(files: readonly string[], choose: MemberChooser, what: string): Promise<TableSource[]> {
  const sources: TableSource[] = [];
  for (const file of files) {
    if (!(await isZipFile(file))) {
      sources.push(fileSource(file));
      continue;
    }
    const members = await listZipMembers(file);
    const chosen = choose(members);
    if (chosen.length === 0) {
      const names = members.map((m) => m.name);
      throw new TableFileError(
        file,
        `the zip archive holds no ${what}; it holds ${names.length === 0 ? 'nothing' : names.slice(0, 12).map((n) => `"${n}"`).join(', ') + (names.length > 12 ? `, and ${names.length - 12} more` : '')}. Is this the right file?`,
      );
    }
    for (const m of chosen) sources.push(zipMemberSource(file, m.name));
  }
  return sources;
}

/** Reads a whole source into memory (small files only: a record layout, an addenda file, a workbook inside a zip). */
export async function readSourceBytes(source: TableSource, maxBytes = 16 << 20): Promise<Buffer> {
  const reader = await source.open();
  try {
    const parts: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(1 << 16);
      const n = await reader.read(chunk, 0, chunk.length);
      if (n === 0) break;
      total += n;
      if (total > maxBytes) throw new TableFileError(source.name, `the file is larger than ${maxBytes} bytes, too large for what it should be`);
      parts.push(chunk.subarray(0, n));
    }
    return Buffer.concat(parts);
  } finally {
    await reader.close();
  }
}

/** Reads a whole source into memory as UTF-8 text. */
export async function readSourceText(source: TableSource, maxBytes = 16 << 20): Promise<string> {
  return (await readSourceBytes(source, maxBytes)).toString('utf8');
}
