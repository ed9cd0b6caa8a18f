import { ApiError, CliError } from './errors.js';

/** How a command prints: JSON for machines, tables and text for people; colour only on a terminal without NO_COLOR. */
export class Output {
  readonly color: boolean;
  readonly tty: boolean;

  constructor(readonly json: boolean, private readonly stdout: NodeJS.WriteStream = process.stdout, private readonly stderr: NodeJS.WriteStream = process.stderr) {
    this.tty = stdout.isTTY === true;
    this.color = this.tty && !process.env.NO_COLOR;
  }

  /** The API's answer as it is, one JSON document (or one line of a stream). */
  data(value: unknown, { line = false }: { line?: boolean } = {}): void {
    this.stdout.write(`${line ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`);
  }

  text(text: string): void {
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Raw output (a run's terminal chunk): written as it came. */
  raw(text: string, stream: 'stdout' | 'stderr' = 'stdout'): void {
    (stream === 'stdout' ? this.stdout : this.stderr).write(text);
  }

  /** Progress and notes: stderr, and only on a terminal, so pipes get only the answer. */
  progress(text: string): void {
    if (this.tty) this.stderr.write(`${this.paint('dim', text)}\n`);
  }

  /** A note that belongs with the answer but not in it (what was skipped): stderr, always. */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  table(headers: string[], rows: string[][]): void {
    if (rows.length === 0) {
      this.text('(none)');
      return;
    }
    const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
    const line = (cells: string[]): string => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ').trimEnd();
    this.text([this.paint('bold', line(headers)), ...rows.map(line)].join('\n'));
  }

  /** `key: value` lines, skipping empty values. */
  fields(entries: Array<[string, string | undefined]>): void {
    const shown = entries.filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '');
    const width = Math.max(...shown.map(([key]) => key.length));
    this.text(shown.map(([key, value]) => `${this.paint('dim', `${key}:`.padEnd(width + 1))} ${value}`).join('\n'));
  }

  paint(style: keyof typeof STYLES, text: string): string {
    return this.color ? `\u001b[${STYLES[style]}m${text}\u001b[0m` : text;
  }

  /** An error: with --json the API's error body (and the status) as JSON on stderr, else words. */
  error(error: unknown): void {
    if (this.json) {
      const body =
        error instanceof ApiError
          ? { ...error.body, status: error.status }
          : { error: error instanceof Error ? error.message : String(error), ...(error instanceof CliError && error.details ? { details: error.details } : {}) };
      this.stderr.write(`${JSON.stringify(body)}\n`);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const status = error instanceof ApiError ? ` (HTTP ${error.status})` : '';
    const lines = [`${this.paintErr('error:')} ${message}${status}`];
    const details = error instanceof CliError ? error.details : undefined;
    for (const [key, value] of Object.entries(details ?? {})) {
      if (Array.isArray(value) && value.every((item) => typeof item === 'string')) lines.push(`  ${key}:`, ...value.map((item) => `    - ${item}`));
      else lines.push(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
    }
    this.stderr.write(`${lines.join('\n')}\n`);
  }

  private paintErr(text: string): string {
    return this.stderr.isTTY && !process.env.NO_COLOR ? `\u001b[${STYLES.red}m${text}\u001b[0m` : text;
  }
}

const STYLES = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33', cyan: '36' } as const;

/** A time as people read it in a table: `2026-12-01 11:30:49`. */
export const shortTime = (iso: string | undefined): string => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '');
