import path from 'node:path';
import { parseArgs } from 'node:util';
import { Scrubber } from '../../engine/scrubber.js';
import { DEFAULT_BODY_LIMIT, LOG_REDACTION, buildApp } from '../../http/app.js';
import { loadPacksOrReport } from '../load-packs.js';
import { EXIT, UsageError, write, type CliIo } from '../io.js';
import { rulesDirFrom } from '../rules-dir.js';

export const serveHelp = `Usage: scrub serve [options]

Starts the HTTP service: POST /v1/scrub, GET /v1/packs, GET /healthz.

Options:
  --port N       port to listen on (default: $PORT, else 8080)
  --host HOST    address to listen on (default: $HOST, else 127.0.0.1; use 0.0.0.0 in a container)
  --rules DIR    rule packs folder (default: $SCRUB_RULES_DIR, else the bundled packs)
  -h, --help     show this help

Environment: PORT, HOST, SCRUB_RULES_DIR, SCRUB_BODY_LIMIT (bytes, default ${DEFAULT_BODY_LIMIT}), LOG_LEVEL (default info).`;

function portFrom(text: string | undefined): number {
  if (text === undefined) return 8080;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 0 || n > 65535) throw new UsageError(`the port must be a number from 0 to 65535, not "${text}"`);
  return n;
}

export async function serve(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      rules: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    await write(io.stdout, serveHelp + '\n');
    return EXIT.ok;
  }
  const port = portFrom(values.port ?? io.env.PORT);
  const host = values.host ?? io.env.HOST ?? '127.0.0.1';
  const bodyLimitText = io.env.SCRUB_BODY_LIMIT;
  const bodyLimit = bodyLimitText === undefined ? DEFAULT_BODY_LIMIT : Number(bodyLimitText);
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024) {
    throw new UsageError(`SCRUB_BODY_LIMIT must be a whole number of bytes, at least 1024, not "${bodyLimitText}"`);
  }
  const rulesDir = rulesDirFrom(values.rules, io.env, io.cwd);
  const packSet = await loadPacksOrReport(rulesDir, io);
  if (!packSet) return EXIT.badInput;
  const scrubber = new Scrubber(packSet);
  const app = await buildApp({
    scrubber: () => scrubber,
    bodyLimit,
    logger: { level: io.env.LOG_LEVEL ?? 'info', redact: LOG_REDACTION },
  });
  const address = await app.listen({ port, host });
  const rules = packSet.rulesById.size;
  await write(
    io.stdout,
    `Claim scrubber listening on ${address} with ${packSet.packs.length} packs (${rules} rules) from ${path.relative(io.cwd, rulesDir) || rulesDir}\n` +
      `Try: curl -s ${address}/v1/packs\n`,
  );
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  return new Promise<number>(() => {
    /* runs until a signal */
  });
}
