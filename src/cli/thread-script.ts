import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a thread on one of the CLI's scripts (named without extension, beside this file): the
 * built JavaScript, or, running from the sources, the TypeScript through tsx.
 */
export function startThreadScript(name: string, options: WorkerOptions): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), options);
  // npm run scrub and the tests run the .ts sources: the thread registers tsx's loader first
  // (an --import flag is not enough for worker threads on Node 20).
  const tsxRoot = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(path.join(tsxRoot, 'dist/esm/api/index.mjs')).href;
  const script = new URL(`./${name}.ts`, import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(script)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
