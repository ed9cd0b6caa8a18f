import { findTemporalCli } from './cli.js';

/** `npm run temporal:install`: finds or builds the Temporal CLI and prints its path. */
findTemporalCli()
  .then((cli) => console.log(cli))
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
