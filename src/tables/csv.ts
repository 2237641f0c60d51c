import { StringDecoder } from 'node:string_decoder';
import { fileSource, type TableSource } from './sources.js';

/**
 * A small streaming CSV reader for the files CMS and its mirrors ship: RFC 4180 quoting
 * (a quoted field may hold the delimiter, line breaks and doubled quotes), LF, CRLF or CR line
 * breaks, and a UTF-8 byte-order mark. It is tolerant where real files are sloppy: a quote in
 * the middle of an unquoted field is kept as text, and text right after a closing quote is
 * kept too. The one thing it cannot repair, a quoted field still open at the end of the file,
 * is reported with the line it started on.
 */

export interface CsvRecord {
  fields: string[];
  /** The 1-based line the record starts on. */
  line: number;
}

export interface CsvProblem {
  line: number;
  message: string;
}

export interface CsvOptions {
  delimiter?: string;
}

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** Just read a quote inside a quoted field: either the closing quote or the first of "". */
  QuoteInQuoted,
}

export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private started = false;
  private afterCr = false;
  private readonly delimiter: string;
  readonly problems: CsvProblem[] = [];

  constructor(
    private readonly onRecord: (record: CsvRecord) => void,
    options: CsvOptions = {},
  ) {
    this.delimiter = options.delimiter ?? ',';
    if (this.delimiter.length !== 1 || this.delimiter === '"' || this.delimiter === '\n' || this.delimiter === '\r') {
      throw new Error(`a CSV delimiter is one character other than a quote or a line break, not ${JSON.stringify(this.delimiter)}`);
    }
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = State.FieldStart;
  }

  private endRecord(): void {
    this.endField();
    const fields = this.fields;
    this.fields = [];
    // A line with nothing on it is not a record.
    if (!(fields.length === 1 && fields[0] === '')) this.onRecord({ fields, line: this.recordLine });
  }

  push(text: string): void {
    let i = 0;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) i = 1;
    }
    const d = this.delimiter;
    const n = text.length;
    while (i < n) {
      const c = text[i]!;
      if (this.afterCr) {
        this.afterCr = false;
        if (c === '\n') {
          // The LF of a CRLF that ended a record; inside a quoted field it is kept as text.
          if (this.state === State.Quoted) this.field += c;
          i++;
          continue;
        }
      }
      switch (this.state) {
        case State.FieldStart:
          if (this.fields.length === 0) this.recordLine = this.line;
          if (c === '"') {
            this.state = State.Quoted;
            i++;
            continue;
          }
          this.state = State.Unquoted;
          continue; // read the character again as part of an unquoted field
        case State.Unquoted: {
          // Copy the run of ordinary characters in one slice.
          let j = i;
          while (j < n) {
            const x = text[j]!;
            if (x === d || x === '\n' || x === '\r') break;
            j++;
          }
          this.field += text.slice(i, j);
          i = j;
          if (i >= n) continue;
          const x = text[i]!;
          i++;
          if (x === d) this.endField();
          else this.lineBreak(x);
          continue;
        }
        case State.Quoted: {
          let j = i;
          while (j < n) {
            const x = text[j]!;
            if (x === '"' || x === '\n' || x === '\r') break;
            j++;
          }
          this.field += text.slice(i, j);
          i = j;
          if (i >= n) continue;
          const x = text[i]!;
          i++;
          if (x === '"') {
            this.state = State.QuoteInQuoted;
          } else {
            // A line break inside quotes is part of the value; count it for line numbers.
            this.field += x;
            this.line++;
            if (x === '\r') this.afterCr = true;
          }
          continue;
        }
        case State.QuoteInQuoted:
          if (c === '"') {
            this.field += '"';
            this.state = State.Quoted;
            i++;
          } else if (c === d) {
            this.endField();
            i++;
          } else if (c === '\n' || c === '\r') {
            i++;
            this.lineBreak(c);
          } else {
            // Text after a closing quote ("ab"c): keep it rather than lose it.
            this.state = State.Unquoted;
          }
          continue;
      }
    }
  }

  private lineBreak(c: string): void {
    this.endRecord();
    this.line++;
    this.recordLine = this.line;
    if (c === '\r') this.afterCr = true;
  }

  /** Ends the input; reports a quoted field that never closed. */
  end(): void {
    if (this.state === State.Quoted) {
      this.problems.push({
        line: this.recordLine,
        message: 'a quoted field opened on this line is never closed; the rest of the file was read as part of it',
      });
      this.state = State.FieldStart;
      this.field = '';
      this.fields = [];
      return;
    }
    if (this.state !== State.FieldStart || this.fields.length > 0 || this.field !== '') this.endRecord();
  }
}

/** Streams a CSV file (or a member of a zip archive) record by record; it is never held in memory whole. */
export async function readCsvFile(input: string | TableSource, onRecord: (record: CsvRecord) => void, options: CsvOptions = {}): Promise<CsvProblem[]> {
  const parser = new CsvParser(onRecord, options);
  const reader = await (typeof input === 'string' ? fileSource(input) : input).open();
  try {
    // UTF-8 decoded chunk by chunk: a character split between two chunks is joined, not mangled.
    const decoder = new StringDecoder('utf8');
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = await reader.read(chunk, 0, chunk.length);
      if (n === 0) break;
      parser.push(decoder.write(chunk.subarray(0, n)));
    }
    const rest = decoder.end();
    if (rest) parser.push(rest);
  } finally {
    await reader.close();
  }
  parser.end();
  return parser.problems;
}

/** Parses CSV text held in memory (tests, small inputs). */
export function parseCsv(text: string, options: CsvOptions = {}): { records: CsvRecord[]; problems: CsvProblem[] } {
  const records: CsvRecord[] = [];
  const parser = new CsvParser((r) => records.push(r), options);
  parser.push(text);
  parser.end();
  return { records, problems: parser.problems };
}
