import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { repoRoot } from '../core/config/paths.js';

/** Where `npm run web:build` writes the dashboard. */
export const defaultWebDistDir = path.join(repoRoot, 'web', 'dist');

/** The path the dashboard is served under; Vite's `base` in web/vite.config.ts says the same. */
export const DASHBOARD_BASE = '/ui/';

/**
 * Serves the built dashboard under /ui/ without a token: it is static, and it asks for the
 * token itself. Client-side routes fall back to index.html; GET / redirects to the dashboard.
 * A missing build answers 503 saying how to make one, so the API still runs without it.
 */
export function serveDashboard(app: express.Express, distDir: string = defaultWebDistDir): void {
  const indexFile = path.join(distDir, 'index.html');

  app.get('/', (_req, res) => {
    res.redirect(302, DASHBOARD_BASE);
  });
  // Only the bare `/ui`: express matches `/ui/` to `/ui` as well, and redirecting that would loop.
  app.get('/ui', (req, res, next) => {
    if (req.path === '/ui') res.redirect(301, DASHBOARD_BASE);
    else next();
  });
  // Built asset names carry a content hash, so they never change under the same name.
  app.use(`${DASHBOARD_BASE}assets`, express.static(path.join(distDir, 'assets'), { immutable: true, maxAge: '1y' }), (req, res) => {
    res.status(404).type('text/plain').send(`no dashboard asset ${req.path}\n`);
  });
  app.use(DASHBOARD_BASE, express.static(distDir, { index: false }));
  app.get(`${DASHBOARD_BASE}{*page}`, (_req, res) => {
    // Checked per request: a build made while the API runs is served without a restart.
    if (!fs.existsSync(indexFile)) {
      res.status(503).type('text/plain').send('dashboard not built: run npm run web:build\n');
      return;
    }
    res.set('cache-control', 'no-cache').sendFile(indexFile);
  });
}
