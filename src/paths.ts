import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root: the nearest folder above this file that holds package.json. That is one
 * level up from `src/` (tests) and `dist/` (built), and also right for other builds of the
 * sources, such as the benchmarks' (bench/.build/src).
 */
function findPackageRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = path.dirname(here); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir + path.sep;
    if (path.dirname(dir) === dir) return path.dirname(here) + path.sep;
  }
}

export const packageRoot = findPackageRoot();

export const schemasDir = path.join(packageRoot, 'schemas');
export const bundledRulesDir = path.join(packageRoot, 'rules');
