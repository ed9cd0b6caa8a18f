/**
 * The shell's lexical rules, for the policy judge's shell reader (`shell-words.ts`): words with
 * their quotes removed, operators, redirections, here-documents. Substitutions are handed to the
 * caller, which reads them as commands of their own; nothing is run or expanded.
 */

export type Token =
  | { type: 'word'; text: string; dynamic: boolean; quoted: boolean }
  | { type: 'op'; text: string }
  | { type: 'redirect'; text: string }
  | { type: 'heredoc'; body: string };

/** Text the reader cannot split; its message says why. */
export class Unparsable extends Error {}

const OPERATORS = ['&&', '||', ';;', '|&', ';', '|', '&', '\n', '(', ')'];
const REDIRECT = /^(\d*|&)(>>|>\||>&|>|<<<|<<-|<<|<>|<&|<)/;

/** The end (exclusive) of a `$(`…`)` opened before `from`, quotes respected. */
function closingParen(text: string, from: number): number {
  let depth = 1;
  for (let index = from; index < text.length; index += 1) {
    const char = text[index]!;
    if (char === '\\') index += 1;
    else if (char === "'") {
      const end = text.indexOf("'", index + 1);
      if (end < 0) throw new Unparsable('an unclosed quote');
      index = end;
    } else if (char === '"') {
      index = closingQuote(text, index + 1);
    } else if (char === '(') depth += 1;
    else if (char === ')' && --depth === 0) return index;
  }
  throw new Unparsable('an unclosed "$("');
}

/** The index of the `"` closing a double-quoted string begun before `from`. */
function closingQuote(text: string, from: number): number {
  for (let index = from; index < text.length; index += 1) {
    const char = text[index]!;
    if (char === '\\') index += 1;
    else if (char === '"') return index;
    else if (char === '$' && text[index + 1] === '(') index = closingParen(text, index + 2);
    else if (char === '`') {
      const end = text.indexOf('`', index + 1);
      if (end < 0) throw new Unparsable('an unclosed backquote');
      index = end;
    }
  }
  throw new Unparsable('an unclosed quote');
}

/** What a substitution (`$(…)`, backquotes, `<(…)`, an expanding here-document) runs: read as commands by the caller. */
export type OnSubstitution = (inner: string) => void;

/** The shell's words, operators, redirections and here-document bodies of `text`; substitutions go to `onSubstitution`. */
export function tokenize(text: string, onSubstitution: OnSubstitution): Token[] {
  const tokens: Token[] = [];
  const pendingHeredocs: Heredoc[] = [];
  let word = '';
  let inWord = false;
  let dynamic = false;
  let quoted = false;
  const endWord = (): void => {
    if (inWord) tokens.push({ type: 'word', text: word, dynamic, quoted });
    word = '';
    inWord = false;
    dynamic = false;
    quoted = false;
  };
  const substitute = (inner: string): void => {
    onSubstitution(inner);
    dynamic = true;
    inWord = true;
  };
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    const rest = text.slice(index);
    if (char === '\\') {
      if (text[index + 1] === '\n') index += 2;
      else {
        word += text[index + 1] ?? '';
        inWord = true;
        index += 2;
      }
      continue;
    }
    if (char === "'") {
      const end = text.indexOf("'", index + 1);
      if (end < 0) throw new Unparsable('an unclosed quote');
      word += text.slice(index + 1, end);
      inWord = true;
      quoted = true;
      index = end + 1;
      continue;
    }
    if (char === '"') {
      const end = closingQuote(text, index + 1);
      const inside = text.slice(index + 1, end);
      word += inside.replace(/\\(["\\$`])/g, '$1');
      inWord = true;
      quoted = true;
      if (/\$|`/.test(inside)) {
        dynamic = true;
        substitutionsIn(inside, onSubstitution);
      }
      index = end + 1;
      continue;
    }
    if (char === '`') {
      const end = text.indexOf('`', index + 1);
      if (end < 0) throw new Unparsable('an unclosed backquote');
      substitute(text.slice(index + 1, end));
      index = end + 1;
      continue;
    }
    if (char === '$' && text[index + 1] === '(') {
      const end = closingParen(text, index + 2);
      substitute(text.slice(index + 2, end));
      index = end + 1;
      continue;
    }
    if ((char === '<' || char === '>') && text[index + 1] === '(' && !inWord) {
      const end = closingParen(text, index + 2);
      substitute(text.slice(index + 2, end));
      index = end + 1;
      continue;
    }
    if (char === '$') {
      dynamic = true;
      inWord = true;
      word += char;
      index += 1;
      continue;
    }
    if (char === '#' && !inWord) {
      const end = text.indexOf('\n', index);
      index = end < 0 ? text.length : end;
      continue;
    }
    if (char === '<' || char === '>' || (char === '&' && text[index + 1] === '>')) {
      // A number right before it is the descriptor (`2>`), not a word.
      if (inWord && /^\d+$/.test(word) && !quoted) {
        word = '';
        inWord = false;
      } else endWord();
      const redirect = REDIRECT.exec(rest)!;
      tokens.push({ type: 'redirect', text: redirect[2]! });
      index += redirect[0].length;
      if (redirect[2] === '<<' || redirect[2] === '<<-') {
        const delimiter = /^\s*(['"]?)([^\s'";|&<>()]+)\1/.exec(text.slice(index));
        if (!delimiter) throw new Unparsable('a here-document without a delimiter');
        index += delimiter[0].length;
        const token: Token & { type: 'heredoc' } = { type: 'heredoc', body: '' };
        tokens.push(token);
        pendingHeredocs.push({ delimiter: delimiter[2]!, strip: redirect[2] === '<<-', expands: delimiter[1] === '', token });
      }
      continue;
    }
    const operator = OPERATORS.find((op) => rest.startsWith(op));
    if (operator) {
      endWord();
      tokens.push({ type: 'op', text: operator });
      index += operator.length;
      if (operator === '\n' && pendingHeredocs.length) {
        const heredocs = pendingHeredocs.splice(0);
        index = readHeredocs(text, index, heredocs);
        // An unquoted delimiter: the body's substitutions run, whatever reads it.
        for (const heredoc of heredocs) if (heredoc.expands) substitutionsIn(heredoc.token.body, onSubstitution);
      }
      continue;
    }
    if (/\s/.test(char)) {
      endWord();
      index += 1;
      continue;
    }
    word += char;
    inWord = true;
    index += 1;
  }
  endWord();
  if (pendingHeredocs.length) throw new Unparsable('a here-document without its body');
  return tokens;
}

/** Reads here-document bodies after a newline; returns where the command text goes on. */
interface Heredoc {
  delimiter: string;
  /** `<<-`: leading tabs are stripped. */
  strip: boolean;
  /** Unquoted delimiter: `$(…)` and backquotes in the body are run. */
  expands: boolean;
  token: { body: string };
}

/** Reads the command substitutions of text that the shell expands (a here-document body) into `commands`. */
function substitutionsIn(text: string, onSubstitution: OnSubstitution): void {
  for (let index = text.indexOf('$('); index >= 0; index = text.indexOf('$(', index + 2)) onSubstitution(text.slice(index + 2, closingParen(text, index + 2)));
  for (const match of text.matchAll(/`([^`]*)`/g)) onSubstitution(match[1]!);
}

function readHeredocs(text: string, from: number, heredocs: Heredoc[]): number {
  let index = from;
  for (const heredoc of heredocs) {
    const lines: string[] = [];
    for (;;) {
      if (index >= text.length) throw new Unparsable(`a here-document not ended by ${heredoc.delimiter}`);
      const end = text.indexOf('\n', index);
      const line = text.slice(index, end < 0 ? text.length : end);
      index = end < 0 ? text.length : end + 1;
      if ((heredoc.strip ? line.replace(/^\t+/, '') : line) === heredoc.delimiter) break;
      lines.push(line);
    }
    heredoc.token.body = lines.join('\n');
  }
  return index;
}

/** One simple command's tokens: words, redirection targets, and what it reads on stdin. */
export interface Simple {
  words: Array<Token & { type: 'word' }>;
  writes: string[];
  reads: string[];
  stdin?: string;
  /** Its stdin is the previous command's output. */
  piped: boolean;
}

/** Splits tokens at the operators into simple commands. */
export function splitCommands(tokens: Token[]): Simple[] {
  const simples: Simple[] = [];
  let current: Simple = { words: [], writes: [], reads: [], piped: false };
  const flush = (pipedNext: boolean): void => {
    if (current.words.length || current.writes.length || current.reads.length) simples.push(current);
    current = { words: [], writes: [], reads: [], piped: pipedNext };
  };
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index]!;
    if (token.type === 'op') {
      flush(token.text === '|' || token.text === '|&');
      continue;
    }
    if (token.type === 'heredoc') {
      current.stdin = token.body;
      continue;
    }
    if (token.type === 'redirect') {
      if (token.text === '<<' || token.text === '<<-') continue;
      const target = tokens[index + 1];
      if (target?.type !== 'word') throw new Unparsable(`a redirection ${token.text} without a target`);
      index += 1;
      if (token.text === '<<<') current.stdin = target.text;
      else if ((token.text === '>&' || token.text === '<&') && /^(\d+|-)$/.test(target.text)) continue;
      else if (token.text.startsWith('<') && token.text !== '<>') current.reads.push(target.text);
      else current.writes.push(target.text);
      continue;
    }
    current.words.push(token);
  }
  flush(false);
  return simples;
}
