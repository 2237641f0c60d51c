/**
 * Progress of a long command on standard error: a bar redrawn in place on a terminal, a plain
 * line of counts every few seconds otherwise (logs, CI). Counts only, never claim contents.
 */
export class Progress {
  private lastDraw = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly label: string,
    /** How often a log line is written when not on a terminal. */
    private readonly logEveryMs = 5000,
  ) {}

  /** `fraction` in 0..1 when the end is known (bytes read of the file, results of the batch). */
  update(count: number, noun: string, fraction?: number, extra = ''): void {
    const now = Date.now();
    const tty = this.stream.isTTY === true;
    if (now - this.lastDraw < (tty ? 100 : this.logEveryMs)) return;
    this.lastDraw = now;
    this.draw(count, noun, fraction, extra, tty);
  }

  /** The last figures, always written, ending the bar's line. */
  done(count: number, noun: string, extra = ''): void {
    const tty = this.stream.isTTY === true;
    this.draw(count, noun, 1, extra, tty);
    if (tty && this.drawn) this.stream.write('\n');
  }

  private draw(count: number, noun: string, fraction: number | undefined, extra: string, tty: boolean): void {
    const seconds = Math.max(0.001, (Date.now() - this.started) / 1000);
    const rate = `${Math.round(count / seconds).toLocaleString('en-US')}/s`;
    const counts = `${count.toLocaleString('en-US')} ${noun} ${rate}${extra ? ` ${extra}` : ''}`;
    if (!tty) {
      this.stream.write(`${this.label}: ${counts}${fraction !== undefined ? ` (${Math.floor(fraction * 100)}%)` : ''}\n`);
      return;
    }
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - counts.length - this.label.length - 12));
    const filled = fraction === undefined ? 0 : Math.round(Math.min(1, fraction) * width);
    const bar = fraction === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% `;
    this.stream.write(`\r\u001b[2K${this.label} ${bar}${counts}`);
    this.drawn = true;
  }
}
