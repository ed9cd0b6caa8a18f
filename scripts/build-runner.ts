import path from 'node:path';
import { build } from 'vite';
import { repoRoot } from '../core/config/paths.js';

/**
 * `npm run runner:build`: the runner as one JavaScript file, `dist/workers/runner.mjs`, which plain
 * node runs (`npm run runner:dist`) without tsx compiling TypeScript in the process: an idle runner
 * holds ~30 MB less. Packages stay in node_modules (an SSR build keeps them external); the file sits
 * two folders below the checkout, as the sources do, so the paths ao finds from its own location hold.
 */
export const RUNNER_BUNDLE = path.join(repoRoot, 'dist', 'workers', 'runner.mjs');

export async function buildRunner(): Promise<void> {
  await build({
    configFile: false,
    root: repoRoot,
    logLevel: 'warn',
    build: {
      ssr: path.join(repoRoot, 'workers', 'runner.ts'),
      outDir: path.dirname(RUNNER_BUNDLE),
      emptyOutDir: true,
      target: 'node20',
      minify: false,
      sourcemap: true,
      rollupOptions: { output: { format: 'es', entryFileNames: path.basename(RUNNER_BUNDLE) } },
    },
  });
}

// Run as a script (not imported by a bench).
if (process.argv[1] && path.resolve(process.argv[1]) === path.join(repoRoot, 'scripts', 'build-runner.ts')) {
  buildRunner().then(
    () => console.log(`runner built: ${path.relative(repoRoot, RUNNER_BUNDLE)}`),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
