import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The workbench page, built by `npm run build` into dist/web and served by the service at
 * /workbench. Everything it needs is in the build: no CDN, no font or script from elsewhere.
 * The editor (CodeMirror) and the charts (Chart.js) are chunks of their own, loaded when a view
 * needs them, so the first screen loads only the small shell. Not dist/workbench: tsc compiles
 * src/workbench there, and this build empties its folder first.
 */
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/workbench/',
  publicDir: false,
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
