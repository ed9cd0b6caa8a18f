import { InvalidArgumentError, type Command } from 'commander';
import { ApiClient } from './api-client.js';
import { resolveConnection } from './config.js';
import { Output } from './output.js';

/** The options every command takes (set on the program, before or after the command's name). */
export interface GlobalOptions {
  apiUrl?: string;
  token?: string;
  json?: boolean;
}

/** What a command works with: how to print, and the API (resolved on first use, so `--help` needs no config). */
export class Context {
  readonly out: Output;
  private api: ApiClient | undefined;

  constructor(private readonly options: GlobalOptions) {
    this.out = new Output(options.json === true);
  }

  get client(): ApiClient {
    return (this.api ??= new ApiClient(resolveConnection({ apiUrl: this.options.apiUrl, token: this.options.token })));
  }
}

/** The context of the command commander is running (its last action argument). */
export const contextOf = (command: Command): Context => new Context(command.optsWithGlobals<GlobalOptions>());

/** Commander's repeatable option: `--tag a --tag b` → ['a', 'b']. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Commander's parser for a count or a number of seconds. */
export function positiveInt(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('give a positive whole number');
  return Number(value);
}
