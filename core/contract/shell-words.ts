import { Unparsable, splitCommands, tokenize, type Simple } from './shell-tokens.js';

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
    for (const simple of splitCommands(tokenize(text, (inner) => nested(inner, commands, 0)))) collect(simple, commands, 0);
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
  for (const simple of splitCommands(tokenize(text, (inner) => nested(inner, commands, depth + 1)))) collect(simple, commands, depth + 1);
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
