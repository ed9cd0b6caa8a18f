import { installSchemathesis } from './schemathesis.js';

/** `npm run schemathesis:install`: installs the pinned Schemathesis into the tools dir and prints the path of `st`. */
installSchemathesis()
  .then((cli) => console.log(cli))
  .catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
