import { CompiledEvaluator } from './compiled-evaluator.js';
import { ENGINES, type EngineName, type Evaluator } from './evaluator.js';
import { ReferenceEvaluator } from './reference-evaluator.js';

/** The evaluator the scrubber uses unless told otherwise. */
export const DEFAULT_ENGINE: EngineName = 'compiled';

export function isEngineName(name: unknown): name is EngineName {
  return (ENGINES as readonly unknown[]).includes(name);
}

export function createEvaluator(name: EngineName = DEFAULT_ENGINE): Evaluator {
  return name === 'reference' ? new ReferenceEvaluator() : new CompiledEvaluator();
}

/**
 * `--engine`, else SCRUB_ENGINE, else the compiled evaluator. Returns the problem in words when
 * the choice is not an engine, so that the command can say so and stop.
 */
export function engineFrom(option: string | undefined, env: NodeJS.ProcessEnv): { engine: EngineName } | { problem: string } {
  const chosen = option ?? env.SCRUB_ENGINE;
  if (chosen === undefined || chosen === '') return { engine: DEFAULT_ENGINE };
  if (isEngineName(chosen)) return { engine: chosen };
  const where = option !== undefined ? '--engine' : 'SCRUB_ENGINE';
  return { problem: `${where} must be ${ENGINES.join(' or ')}, not "${chosen}"` };
}
