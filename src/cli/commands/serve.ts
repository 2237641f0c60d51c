import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError, DEFAULTS, formatConfigProblem, readServiceConfig, type ServiceConfig } from '../../config.js';
import { runPrimary } from '../../service/cluster.js';
import { runServiceProcess } from '../../service/process.js';
import { EXIT, write, type CliIo } from '../io.js';

export const serveHelp = `Usage: scrub serve [options]

Starts the HTTP service: POST /v1/scrub, POST /v1/scrub/batch, GET /v1/packs,
POST /v1/packs/reload, GET /healthz, GET /readyz, GET /metrics, GET /docs, and the
compliance workbench page at /workbench (docs/workbench.md).

Options:
  --port N       port to listen on (default: $PORT, else ${DEFAULTS.port}; 0 picks a free port)
  --host HOST    address to listen on (default: $HOST, else ${DEFAULTS.host}; use 0.0.0.0 in a container)
  --rules DIR    rule packs folder (default: $SCRUB_RULES_DIR, else the bundled packs)
  --workers N    processes serving the port (default: $SCRUB_WORKERS, else one per core: ${availableParallelism()} here);
                 1 serves in this process, more use node:cluster
  --engine compiled|reference
                 how conditions are evaluated: compiled (default), or by json-rules-engine
                 itself (default: $SCRUB_ENGINE, else compiled)
  -h, --help     show this help

Signals: SIGHUP reloads the packs (every worker); SIGTERM or SIGINT stops taking requests,
finishes those in flight and exits 0.

Every setting (API keys, limits, timeouts, CORS...) is an environment variable: see the
Configuration section of docs/operations.md. A bad value stops the start with exit status 2.`;

export async function serve(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      rules: { type: 'string' },
      workers: { type: 'string' },
      engine: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    await write(io.stdout, serveHelp + '\n');
    return EXIT.ok;
  }
  let config: ServiceConfig;
  try {
    config = readServiceConfig(io.env, { port: values.port, host: values.host, rules: values.rules, workers: values.workers, engine: values.engine }, io.cwd);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    await write(io.stderr, `scrub serve: the configuration is not valid:\n${err.problems.map((p) => `  ${formatConfigProblem(p)}`).join('\n')}\n`);
    return EXIT.badInput;
  }
  const code = config.workers > 1 && cluster.isPrimary ? await runPrimary(config, io) : await runServiceProcess(config, io);
  // Long-running: exit now rather than wait for timers and handles nobody needs.
  process.exit(code);
}
