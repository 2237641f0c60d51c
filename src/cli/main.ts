#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tightenHeapFor } from './heap.js';
import { EXIT, UsageError, write, type CliIo } from './io.js';

interface Command {
  run: (args: string[], io: CliIo) => Promise<number>;
  help: string;
}

/**
 * Each command's module is loaded when the command runs: `scrub check` does not load the report
 * charts, the queue client or the database drivers of other commands (about 30 MiB of resident
 * memory in every run, and the start-up time to compile them).
 */
const COMMANDS: Record<string, { load: () => Promise<Command>; summary: string }> = {
  check: { load: () => import('./commands/check.js').then((m) => ({ run: m.check, help: m.checkHelp })), summary: 'scrub claims and print their findings' },
  lint: { load: () => import('./commands/lint.js').then((m) => ({ run: m.lint, help: m.lintHelp })), summary: 'check rule packs and print problems as file:line:column' },
  test: { load: () => import('./commands/test.js').then((m) => ({ run: m.test, help: m.testHelp })), summary: 'run the tests beside the rule packs' },
  docs: { load: () => import('./commands/docs.js').then((m) => ({ run: m.docs, help: m.docsHelp })), summary: 'write Markdown docs of the rule packs' },
  serve: { load: () => import('./commands/serve.js').then((m) => ({ run: m.serve, help: m.serveHelp })), summary: 'start the HTTP service' },
  tables: { load: () => import('./commands/tables.js').then((m) => ({ run: m.tables, help: m.tablesHelp })), summary: 'list, verify, diff and fetch the CMS tables behind the packs' },
  keys: { load: () => import('./commands/keys.js').then((m) => ({ run: m.keys, help: m.keysHelp })), summary: 'hash an API key for the service configuration, or make a new one' },
  worker: { load: () => import('./commands/worker.js').then((m) => ({ run: m.worker, help: m.workerHelp })), summary: 'scrub claims from the NATS JetStream queue until stopped' },
  submit: { load: () => import('./commands/submit.js').then((m) => ({ run: m.submit, help: m.submitHelp })), summary: 'put the claims of a file on the queue for the workers' },
  results: { load: () => import('./commands/results.js').then((m) => ({ run: m.results, help: m.resultsHelp })), summary: 'collect a queued batch\'s results as NDJSON' },
  history: { load: () => import('./commands/history.js').then((m) => ({ run: m.history, help: m.historyHelp })), summary: 'import past claims into the claim history, purge old ones, count them' },
  remits: { load: () => import('./commands/remits.js').then((m) => ({ run: m.remits, help: m.remitsHelp })), summary: 'import 835 remittances and match them to the recorded claims' },
  report: { load: () => import('./commands/report.js').then((m) => ({ run: m.report, help: m.reportHelp })), summary: 'write the rule effectiveness report (text, JSON, Markdown, HTML)' },
};

export const mainHelp = `Usage: scrub <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(7)} ${c.summary}`)
  .join('\n')}

Run "scrub <command> --help" for a command's options.`;

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await write(name === undefined ? io.stderr : io.stdout, mainHelp + '\n');
    return name === undefined ? EXIT.badInput : EXIT.ok;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    await write(io.stderr, `scrub: there is no command "${name}".\n\n${mainHelp}\n`);
    return EXIT.badInput;
  }
  const command = await entry.load();
  try {
    return await command.run(args, io);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      await write(io.stderr, `scrub ${name}: ${e.message}\n\n${command.help}\n`);
      return EXIT.badInput;
    }
    throw err;
  }
}

function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  // `scrub check ... | head` closes the pipe early: stop quietly, as other Unix tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  tightenHeapFor(process.argv[2]);
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd(), env: process.env };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`scrub: unexpected error: ${err.stack ?? err.message}\n`);
      process.exitCode = EXIT.badInput;
    },
  );
}
