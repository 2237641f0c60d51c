import path from 'node:path';
import { bundledRulesDir } from '../paths.js';

/** --rules, then SCRUB_RULES_DIR, then the packs bundled with the scrubber. */
export function rulesDirFrom(option: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const chosen = option ?? env.SCRUB_RULES_DIR;
  return chosen ? path.resolve(cwd, chosen) : bundledRulesDir;
}
