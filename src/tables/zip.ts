import { open as openFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { TableFileError } from './model.js';

/**
 * The zip archives CMS publishes (the ICD-10-CM code files, the HCPCS quarterly file, the NCCI
 * and MUE tables), read as shipped: yauzl reads the central directory and inflates a member as
 * a stream; every member read is checked against the CRC-32 the archive records for it, so a
 * damaged download is refused rather than half read.
 */

export interface ZipMember {
  name: string;
  /** Bytes once inflated. */
  size: number;
}

/** The largest member read (the biggest CMS table, a PTP file, is about 100 MB). */
const MAX_MEMBER_BYTES = 2 ** 31;

const LOCAL_HEADER = 0x04034b50;
const EMPTY_ARCHIVE = 0x06054b50;

/** Whether a file starts like a zip archive (PK\3\4, or PK\5\6 for an empty one). */
export async function isZipFile(file: string): Promise<boolean> {
  const handle = await openFile(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead < 4) return false;
    const signature = head.readUInt32LE(0);
    return signature === LOCAL_HEADER || signature === EMPTY_ARCHIVE;
  } finally {
    await handle.close();
  }
}

function openArchive(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false, strictFileNames: false }, (err, zip) => {
      if (err || !zip) reject(new TableFileError(file, `the file is not a zip archive that can be read: ${err?.message ?? 'no archive'}`));
      else resolve(zip);
    });
  });
}

/** Walks the central directory; `visit` returns true to stop. */
function walkEntries(file: string, zip: yauzl.ZipFile, visit: (entry: yauzl.Entry) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error?: unknown) => {
      if (done) return;
      done = true;
      zip.removeAllListeners('entry');
      zip.removeAllListeners('end');
      if (error) reject(error instanceof TableFileError ? error : new TableFileError(file, `the zip archive is damaged: ${(error as Error).message}`));
      else resolve();
    };
    zip.on('entry', (entry: yauzl.Entry) => {
      try {
        if (visit(entry)) finish();
        else zip.readEntry();
      } catch (error) {
        finish(error);
      }
    });
    zip.on('end', () => finish());
    zip.once('error', finish);
    zip.readEntry();
  });
}

/** The files in an archive (folders left out), in the order the archive lists them. */
export async function listZipMembers(file: string): Promise<ZipMember[]> {
  const zip = await openArchive(file);
  try {
    const members: ZipMember[] = [];
    await walkEntries(file, zip, (entry) => {
      if (!entry.fileName.endsWith('/')) members.push({ name: entry.fileName, size: entry.uncompressedSize });
      return false;
    });
    return members;
  } finally {
    zip.close();
  }
}

/** Reads bytes from a member of an archive, checking its CRC-32 once the last byte is read. */
export interface ZipMemberReader {
  read(buffer: Buffer, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export async function openZipMember(file: string, name: string): Promise<ZipMemberReader> {
  const zip = await openArchive(file);
  let entry: yauzl.Entry | undefined;
  try {
    await walkEntries(file, zip, (e) => {
      if (e.fileName !== name) return false;
      entry = e;
      return true;
    });
    if (!entry) throw new TableFileError(file, `the zip archive has no member "${name}"`);
    if (entry.isEncrypted()) throw new TableFileError(file, `"${name}" in the zip archive is encrypted`);
    if (entry.uncompressedSize > MAX_MEMBER_BYTES) throw new TableFileError(file, `"${name}" in the zip archive is ${entry.uncompressedSize} bytes once inflated, more than a table can be`);
    const found = entry;
    const stream = await new Promise<Readable>((resolve, reject) => {
      zip.openReadStream(found, (err, s) => (err || !s ? reject(new TableFileError(file, `"${name}" in the zip archive cannot be read: ${err?.message}`)) : resolve(s)));
    });
    return new StreamReader(file, name, found.crc32, stream, () => zip.close());
  } catch (error) {
    zip.close();
    throw error;
  }
}

class StreamReader implements ZipMemberReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer | undefined;
  private pendingAt = 0;
  private crc = 0;
  private ended = false;

  constructor(
    private readonly file: string,
    private readonly member: string,
    private readonly expectedCrc: number,
    private readonly stream: Readable,
    private readonly release: () => void,
  ) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<number> {
    while (!this.pending || this.pendingAt >= this.pending.length) {
      if (this.ended) return 0;
      let next: IteratorResult<Buffer>;
      try {
        next = await this.chunks.next();
      } catch (error) {
        throw new TableFileError(this.file, `"${this.member}" in the zip archive is damaged: ${(error as Error).message}`);
      }
      if (next.done) {
        this.ended = true;
        if ((this.crc >>> 0) !== (this.expectedCrc >>> 0)) {
          throw new TableFileError(this.file, `"${this.member}" in the zip archive is damaged: its CRC-32 does not match the one the archive records`);
        }
        return 0;
      }
      this.pending = next.value;
      this.pendingAt = 0;
      this.crc = crc32(next.value, this.crc);
    }
    const n = Math.min(length, this.pending.length - this.pendingAt);
    this.pending.copy(buffer, offset, this.pendingAt, this.pendingAt + n);
    this.pendingAt += n;
    return n;
  }

  async close(): Promise<void> {
    this.stream.destroy();
    this.release();
  }
}
