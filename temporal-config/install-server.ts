import { findTemporalServer } from './server-binaries.js';

/** `npm run temporal:install-server`: finds or builds the Temporal server and its SQL tool, and prints their paths. */
findTemporalServer()
  .then(({ server, sqlTool }) => console.log(`${server}\n${sqlTool}`))
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
