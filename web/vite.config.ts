import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

/** API paths the dev server forwards to a running `npm start` (the built app calls them on its own origin). */
const API_PATHS = ['/runs', '/runners', '/profiles', '/agents', '/scripts', '/sessions', '/tokens', '/audit', '/whoami', '/healthz'];
const API_TARGET = 'http://127.0.0.1:8787';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // The API serves the build under /ui/ (api/dashboard.ts).
  base: '/ui/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // xterm.js alone is ~400 kB; one chunk for a local dashboard is fine.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    host: '127.0.0.1',
    proxy: Object.fromEntries(API_PATHS.map((prefix) => [prefix, { target: API_TARGET, changeOrigin: false }])),
  },
});
