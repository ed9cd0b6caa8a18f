import { Command, CommanderError } from 'commander';
import { registerConfigCommands } from './commands/config.js';
import { registerFleetCommands } from './commands/fleet.js';
import { registerRunCommands } from './commands/runs.js';
import { registerScriptCommands } from './commands/scripts.js';
import { registerTokenCommands } from './commands/tokens.js';
import { registerScheduleCommands } from './commands/schedules.js';
import { CliError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { Output } from './output.js';

/** `ao`: the command line over ao's HTTP API (README: "The ao CLI"). */
function program(): Command {
  const ao = new Command('ao')
    .description('ao, the agent orchestrator on Temporal: runs, logs, the fleet, scripts, schedules, tokens and config over its HTTP API')
    .option('--api-url <url>', 'the API (else AO_API_URL, the config file, http://127.0.0.1:8787)')
    .option('--token <token>', 'the API token (else AO_API_TOKEN, the config file, this checkout’s .data/api-token for a local API)')
    .option('--json', 'print the API’s answers as JSON')
    .showHelpAfterError('(ao --help, or ao <command> --help, shows the usage)')
    .exitOverride();
  // Subcommands inherit exitOverride (so usage errors exit through main() with ao's code) and the help hint.
  registerRunCommands(ao);
  registerFleetCommands(ao);
  registerScriptCommands(ao);
  registerScheduleCommands(ao);
  registerTokenCommands(ao);
  registerConfigCommands(ao);
  return ao;
}

async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end "with an error" too; commander has printed what they say.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    new Output(argv.includes('--json')).error(error);
    return error instanceof CliError ? error.exitCode : EXIT.failed;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exit(EXIT.failed);
  },
);
