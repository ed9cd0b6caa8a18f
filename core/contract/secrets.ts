/**
 * Secrets and how they are kept out of everything ao shows: events, results, errors, logs and
 * Temporal failure messages. Two kinds are redacted: the values of secret-looking environment
 * variables (known exactly) and well-known key shapes (any value of that form). Pure: the runner,
 * the API, the control worker and their logs share this one list.
 */

/** What a redacted secret becomes. */
export const REDACTED = '[redacted]';

/** Environment variable names whose values count as secrets. */
const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)/i;
/** Shorter values are too likely to be ordinary text ("true", a port). */
const MIN_SECRET_LENGTH = 8;

/** Values of secret-looking environment variables, to be redacted wherever they would be shown. */
export function secretValues(env: Record<string, string | undefined>): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value.length >= MIN_SECRET_LENGTH)
    .map(([, value]) => value!);
}

/**
 * A well-known credential format. `complete` finds whole occurrences (group 1, when present, is
 * kept: `Bearer [redacted]`); `partial` matches, at the very end of a text, what may still become
 * one once more text arrives, so a stream holds it back instead of showing half a key.
 */
export interface SecretShape {
  name: string;
  complete: RegExp;
  partial: RegExp;
  /** An occurrence cut short at the very end of a text, redacted all the same (a PEM block without its end line). */
  unfinished?: RegExp;
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
/** Not preceded by a letter or digit: `disk-…` is no `sk-…` key. */
const START = '(?<![A-Za-z0-9])';

/** A key that is a fixed prefix followed by a run of token characters. */
function tokenShape(name: string, prefix: string, body: string, length: { min: number; max?: number }, options: { digit?: boolean } = {}): SecretShape {
  const count = `{${length.min},${length.max ?? ''}}`;
  // Random keys carry a digit; requiring one keeps hyphenated words from passing for keys.
  const digit = options.digit ? `(?=${body}*\\d)` : '';
  const prefixes = Array.from({ length: prefix.length - 1 }, (_, index) => escape(prefix.slice(0, index + 1)));
  return {
    name,
    complete: new RegExp(`${START}${escape(prefix)}${digit}${body}${count}(?!${body})`, 'g'),
    partial: new RegExp(`${START}(?:${[...prefixes, `${escape(prefix)}${body}${length.max ? `{0,${length.max}}` : '*'}`].join('|')})$`),
  };
}

const PEM_BEGIN = '-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----';
const PEM_END = '-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----';
/** A private key's BEGIN line with no END line after it. */
const PEM_UNFINISHED = `${PEM_BEGIN}(?![\\s\\S]*${PEM_END})[\\s\\S]*`;
const pemPrefixes = Array.from({ length: '-----BEGIN '.length - 1 }, (_, index) => escape('-----BEGIN '.slice(0, index + 1)));

/** The key shapes ao redacts wherever it shows text. */
export const SECRET_SHAPES: readonly SecretShape[] = [
  tokenShape('Anthropic API key', 'sk-ant-', '[A-Za-z0-9_-]', { min: 20 }),
  // Also `sk-proj-…` and `sk-svcacct-…` that carry a digit; those two prefixes are keys with or without one
  // (a key of 50 random letters and digits has none about once in 7,000: the redaction test met one).
  tokenShape('OpenAI API key', 'sk-', '[A-Za-z0-9_-]', { min: 20 }, { digit: true }),
  ...['sk-proj-', 'sk-svcacct-'].map((prefix) => tokenShape('OpenAI API key', prefix, '[A-Za-z0-9_-]', { min: 20 })),
  ...['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'].map((prefix) => tokenShape('GitHub token', prefix, '[A-Za-z0-9]', { min: 30 })),
  tokenShape('GitHub fine-grained token', 'github_pat_', '[A-Za-z0-9_]', { min: 40 }),
  tokenShape('AWS access key id', 'AKIA', '[A-Z0-9]', { min: 16, max: 16 }),
  tokenShape('AWS temporary access key id', 'ASIA', '[A-Z0-9]', { min: 16, max: 16 }),
  tokenShape('Google API key', 'AIza', '[A-Za-z0-9_-]', { min: 35 }),
  // ao's own run-scoped credential (api/run-credentials.ts): `aor_<run id>.<HMAC>`.
  tokenShape('ao run credential', 'aor_', '[A-Za-z0-9._-]', { min: 44 }),
  {
    name: 'bearer token',
    complete: /(?<![A-Za-z0-9])(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
    partial: /(?<![A-Za-z0-9])(?:b|be|bea|bear|beare|bearer|bearer\s+[A-Za-z0-9._~+/=-]*)$/i,
  },
  {
    name: 'PEM private key',
    complete: new RegExp(`${PEM_BEGIN}[\\s\\S]*?${PEM_END}`, 'g'),
    partial: new RegExp(`(?:${pemPrefixes.join('|')}|-----BEGIN [A-Z0-9 ]*-{0,4}|${PEM_UNFINISHED})$`),
    unfinished: new RegExp(`${PEM_UNFINISHED}$`),
  },
];

/** Held back at most this much of a stream: a longer unfinished match is redacted and let go. */
const MAX_HELD_CHARS = 64 * 1024;

interface Span {
  start: number;
  end: number;
  /** Text kept before the marker (`Bearer `). */
  keep: string;
}

/**
 * Redacts one process's secrets (the literal values it knows) and every key shape. `text` and
 * `value` redact whole values; `stream()` redacts a stream of chunks, so a secret printed in two
 * writes is caught as well.
 */
export class Redactor {
  private readonly literals: string[];

  constructor(private readonly secrets: readonly string[] = [], private readonly shapes: readonly SecretShape[] = SECRET_SHAPES) {
    // JSON-escaped forms too: a secret with a quote or backslash appears escaped inside JSON output.
    const forms = secrets.filter((value) => value.length > 0).flatMap((value) => [value, JSON.stringify(value).slice(1, -1)]);
    this.literals = [...new Set(forms)].sort((a, b) => b.length - a.length);
  }

  /** This redactor plus more literal secrets (e.g. the environment an executor got). */
  with(secrets: readonly string[]): Redactor {
    return new Redactor([...this.secrets, ...secrets], this.shapes);
  }

  /** `text` with every secret in it redacted. */
  text(text: string): string {
    const spans = this.spans(text);
    for (const shape of this.shapes) {
      const match = shape.unfinished?.exec(text);
      if (match) spans.push({ start: match.index, end: text.length, keep: '' });
    }
    return replaceSpans(text, spans, text.length);
  }

  /** Every string anywhere inside `value` redacted; other values unchanged. */
  value<T>(value: T): T {
    if (typeof value === 'string') return this.text(value) as T;
    if (Array.isArray(value)) return value.map((item: unknown) => this.value(item)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.value(item)])) as T;
    }
    return value;
  }

  /** A redacting filter for one stream (one per stdout, one per stderr). */
  stream(): StreamRedactor {
    return new StreamRedactor(this);
  }

  /**
   * Redacts what of `buffer` can be shown now and returns the rest to hold back: the part at its
   * end that may be the start of a secret whose remainder is still to come.
   * @internal for StreamRedactor
   */
  split(buffer: string): { shown: string; held: string } {
    let cut = Math.max(this.heldFrom(buffer), buffer.length - MAX_HELD_CHARS);
    const spans = this.spans(buffer);
    // A whole secret the cut would halve is held back whole.
    for (const span of spans) if (span.start < cut && span.end > cut) cut = span.start;
    if (buffer.length - cut > MAX_HELD_CHARS) return { shown: this.text(buffer), held: '' };
    return { shown: replaceSpans(buffer, spans, cut), held: buffer.slice(cut) };
  }

  /** Every complete occurrence of a literal secret or a key shape. */
  private spans(text: string): Span[] {
    const spans: Span[] = [];
    for (const literal of this.literals) {
      for (let at = text.indexOf(literal); at !== -1; at = text.indexOf(literal, at + literal.length)) spans.push({ start: at, end: at + literal.length, keep: '' });
    }
    for (const shape of this.shapes) {
      for (const match of text.matchAll(shape.complete)) spans.push({ start: match.index, end: match.index + match[0].length, keep: match[1] ?? '' });
    }
    return spans;
  }

  /** Where, at the end of `text`, something starts that may still become a secret (text.length if nothing). */
  private heldFrom(text: string): number {
    let from = text.length;
    for (const shape of this.shapes) {
      const match = shape.partial.exec(text);
      if (match) from = Math.min(from, match.index);
    }
    for (const literal of this.literals) {
      for (let length = Math.min(literal.length - 1, text.length); length > 0; length -= 1) {
        if (text.endsWith(literal.slice(0, length))) {
          from = Math.min(from, text.length - length);
          break;
        }
      }
    }
    return from;
  }
}

/** Replaces the spans that end by `cut` (overlapping ones merged) and returns `text` up to `cut`. */
function replaceSpans(text: string, spans: Span[], cut: number): string {
  const sorted = spans.filter((span) => span.end <= cut).sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let at = 0;
  for (const span of sorted) {
    if (span.start < at) {
      // Overlaps the one before: that marker covers it.
      at = Math.max(at, span.end);
      continue;
    }
    out += text.slice(at, span.start) + span.keep + REDACTED;
    at = span.end;
  }
  return out + text.slice(at, cut);
}

/**
 * Redaction of a stream, not of single chunks: the tail of each chunk that may be the start of a
 * secret is held back until the next chunk shows what it is, or until the stream ends.
 */
export class StreamRedactor {
  private held = '';

  constructor(private readonly redactor: Redactor) {}

  /** The redacted text that can be shown now. */
  push(chunk: string): string {
    const { shown, held } = this.redactor.split(this.held + chunk);
    this.held = held;
    return shown;
  }

  /** The stream ended: what was held back, redacted. */
  end(): string {
    const rest = this.redactor.text(this.held);
    this.held = '';
    return rest;
  }
}
