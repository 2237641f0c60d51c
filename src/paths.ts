import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package root: one level above this file in both `src/` (tests) and `dist/` (built). */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url));

export const schemasDir = path.join(packageRoot, 'schemas');
export const bundledRulesDir = path.join(packageRoot, 'rules');
