/**
 * A conservative reading of a shell command line, for the policy judge: every simple command it
 * would run, with wrappers (`sudo`, `env`, `xargs`, `sh -c "…"`, …) seen through and substitutions
 * (`$(…)`, backquotes, `<(…)`) read as commands of their own. It never runs or expands anything;
 * what it cannot know (a variable as a program, a shell reading code from a pipe) is marked, so
 * the judge can ask a person instead of guessing.
 */

export interface ShellCommand {
  /** Program and arguments, quotes removed, leading assignments and wrappers dropped. */
  words: string[];
  /** Files its redirections write (`>`, `>>`, `&>`, `tee`-like targets are not guessed). */
  writes: string[];
  /** Files its redirections read (`<`). */
  reads: string[];
  /** A word holds a variable or substitution: its value is known only at run time. */
  dynamic: boolean;
  /** Why ao cannot see what this command runs (a shell reading a pipe, `source`, `eval` of a variable). */
  opaque?: string;
}

export interface ShellReading {
  commands: ShellCommand[];
  /** Set when (part of) the text could not be split: why. */
  unparsed?: string;
}

type Token =
  | { type: 'word'; text: string; dynamic: boolean; quoted: boolean }
  | { type: 'op'; text: string }
  | { type: 'redirect'; text: string }
  | { type: 'heredoc'; body: string };

class Unparsable extends Error {}

const OPERATORS = ['&&', '||', ';;', '|&', ';', '|', '&', '\n', '(', ')'];
const REDIRECT = /^(\d*|&)(>>|>\||>&|>|<<<|<<-|<<|<>|<&|<)/;
const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', 'for', 'case', 'esac', 'in', 'function', '{', '}', '!', 'coproc', 'select', '[[', ']]']);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'mksh', 'fish', 'rbash']);
/** Wrappers that run the rest of their words as a command, and their options that take a value. */
const WRAPPERS: Record<string, string[]> = {
  sudo: ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T'],
  doas: ['-u', '-C'],
  env: ['-u', '-C', '--unset', '--chdir'],
  command: [],
  builtin: [],
  exec: ['-a'],
  nohup: [],
  time: ['-f', '-o'],
  nice: ['-n', '--adjustment'],
  ionice: ['-c', '-n', '-p'],
  timeout: ['-s', '-k', '--signal', '--kill-after'],
  stdbuf: ['-i', '-o', '-e'],
  setsid: [],
  chrt: [],
  taskset: [],
  unbuffer: [],
  torsocks: [],
  proxychains: ['-f'],
  proxychains4: ['-f'],
  strace: ['-o', '-e', '-p', '-s'],
  ltrace: ['-o', '-e'],
  xargs: ['-I', '-i', '-n', '-P', '-d', '-a', '-E', '-e', '-L', '-l', '-s', '--max-args', '--max-procs', '--delimiter', '--arg-file', '--replace'],
  watch: ['-n', '-d', '--interval'],
  flock: ['-w', '-E', '--timeout'],
  firejail: [],
  busybox: [],
};
/** Wrappers whose first non-option word is not the command (timeout's duration, flock's file, chroot's dir, taskset's mask). */
const LEADING_OPERANDS: Record<string, number> = { timeout: 1, flock: 1, chroot: 1, taskset: 1, chrt: 1 };

/** Reads `text` as the shell would split it, without running or expanding anything. */
export function shellCommands(text: string): ShellReading {
  const commands: ShellCommand[] = [];
  try {
    for (const simple of splitCommands(tokenize(text, commands))) collect(simple, commands, 0);
    return { commands };
  } catch (error) {
    if (error instanceof Unparsable) return { commands, unparsed: error.message };
    throw error;
  }
}

const MAX_DEPTH = 8;

/** Reads nested command text (a substitution, `sh -c`) into `commands`. */
function nested(text: string, commands: ShellCommand[], depth: number): void {
  if (depth > MAX_DEPTH) throw new Unparsable('commands nested too deeply');
  for (const simple of splitCommands(tokenize(text, commands, depth + 1))) collect(simple, commands, depth + 1);
}

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

function tokenize(text: string, commands: ShellCommand[], depth = 0): Token[] {
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
    nested(inner, commands, depth);
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
        substitutionsIn(inside, commands, depth);
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
        for (const heredoc of heredocs) if (heredoc.expands) substitutionsIn(heredoc.token.body, commands, depth);
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
function substitutionsIn(text: string, commands: ShellCommand[], depth: number): void {
  for (let index = text.indexOf('$('); index >= 0; index = text.indexOf('$(', index + 2)) nested(text.slice(index + 2, closingParen(text, index + 2)), commands, depth);
  for (const match of text.matchAll(/`([^`]*)`/g)) nested(match[1]!, commands, depth);
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

interface Simple {
  words: Array<Token & { type: 'word' }>;
  writes: string[];
  reads: string[];
  stdin?: string;
  /** Its stdin is the previous command's output. */
  piped: boolean;
}

function splitCommands(tokens: Token[]): Simple[] {
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

const isAssignment = (word: string): boolean => /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/.test(word);
const base = (word: string): string => word.slice(word.lastIndexOf('/') + 1);

/** One simple command: reserved words, assignments and wrappers dropped; shells' code read as commands. */
function collect(simple: Simple, commands: ShellCommand[], depth: number): void {
  let words = simple.words.map((word) => word.text);
  let dynamic = simple.words.some((word) => word.dynamic);
  let opaque: string | undefined;
  let viaWrapper = false;
  for (let guard = 0; guard < 32; guard += 1) {
    while (words.length && (RESERVED.has(words[0]!) || isAssignment(words[0]!))) words = words.slice(1);
    const program = base(words[0] ?? '');
    if (program === 'env' && words.some((word) => word === '-S' || word.startsWith('--split-string'))) {
      const at = words.findIndex((word) => word === '-S' || word.startsWith('--split-string'));
      const inline = words[at]!.includes('=') ? words[at]!.slice(words[at]!.indexOf('=') + 1) : words.slice(at + 1).join(' ');
      nested(inline, commands, depth);
      return;
    }
    const takesValue = WRAPPERS[program] ?? (program === 'chroot' ? [] : undefined);
    if (!takesValue) break;
    viaWrapper = true;
    if (program === 'xargs' || program === 'watch') dynamic = true;
    let at = 1;
    while (at < words.length && (words[at]!.startsWith('-') || (program === 'env' && isAssignment(words[at]!)))) {
      if (words[at] === '--') {
        at += 1;
        break;
      }
      at += takesValue.includes(words[at]!) ? 2 : 1;
    }
    at += LEADING_OPERANDS[program] ?? 0;
    words = words.slice(at);
    if (program === 'watch' && words.length) {
      // watch runs its words as one shell string.
      nested(words.join(' '), commands, depth);
      return;
    }
  }
  const program = base(words[0] ?? '');
  if (!words.length) {
    if (viaWrapper || simple.writes.length || simple.reads.length) commands.push({ words, writes: simple.writes, reads: simple.reads, dynamic });
    return;
  }
  if (SHELLS.has(program)) {
    const flag = words.findIndex((word, index) => index > 0 && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(word));
    if (flag > 0) {
      const script = words[flag + 1];
      if (script === undefined) throw new Unparsable(`${program} -c without a command`);
      nested(script, commands, depth);
      commands.push({ words: [words[0]!], writes: simple.writes, reads: simple.reads, dynamic: false });
      return;
    }
    const operands = words.slice(1).filter((word) => !word.startsWith('-'));
    if (!operands.length) {
      if (simple.stdin !== undefined) nested(simple.stdin, commands, depth);
      else opaque = `${program} reads its commands from ${simple.piped ? 'a pipe' : 'its input'}`;
    }
  }
  if (program === 'eval') {
    if (dynamic) opaque = 'eval of text known only at run time';
    else nested(words.slice(1).join(' '), commands, depth);
  }
  if (program === 'source' || program === '.') opaque = `${program} runs the commands of a file`;
  if (program === 'alias' || program === 'trap') opaque = `${program} defines commands run later`;
  if (program === 'git' && words.some((word, index) => words[index - 1] === '-c' && /^alias\./i.test(word))) opaque = 'a git alias defined on the command line';
  if (program === 'find') {
    for (let index = 1; index < words.length; index += 1) {
      if (!['-exec', '-execdir', '-ok', '-okdir'].includes(words[index]!)) continue;
      const end = words.findIndex((word, at) => at > index && (word === ';' || word === '+'));
      const inner = words.slice(index + 1, end < 0 ? undefined : end);
      if (inner.length) commands.push({ words: inner, writes: [], reads: [], dynamic: true });
    }
  }
  commands.push({ words, writes: simple.writes, reads: simple.reads, dynamic, ...(opaque ? { opaque } : {}) });
}
