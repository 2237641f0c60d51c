#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { check, checkHelp } from './commands/check.js';
import { docs, docsHelp } from './commands/docs.js';
import { history, historyHelp } from './commands/history.js';
import { keys, keysHelp } from './commands/keys.js';
import { lint, lintHelp } from './commands/lint.js';
import { results, resultsHelp } from './commands/results.js';
import { remits, remitsHelp } from './commands/remits.js';
import { report, reportHelp } from './commands/report.js';
import { serve, serveHelp } from './commands/serve.js';
import { tables, tablesHelp } from './commands/tables.js';
import { submit, submitHelp } from './commands/submit.js';
import { test, testHelp } from './commands/test.js';
import { worker, workerHelp } from './commands/worker.js';
import { EXIT, UsageError, write, type CliIo } from './io.js';

const COMMANDS: Record<string, { run: (args: string[], io: CliIo) => Promise<number>; help: string; summary: string }> = {
  check: { run: check, help: checkHelp, summary: 'scrub claims and print their findings' },
  lint: { run: lint, help: lintHelp, summary: 'check rule packs and print problems as file:line:column' },
  test: { run: test, help: testHelp, summary: 'run the tests beside the rule packs' },
  docs: { run: docs, help: docsHelp, summary: 'write Markdown docs of the rule packs' },
  serve: { run: serve, help: serveHelp, summary: 'start the HTTP service' },
  tables: { run: tables, help: tablesHelp, summary: 'list, verify, diff and fetch the CMS tables behind the packs' },
  keys: { run: keys, help: keysHelp, summary: 'hash an API key for the service configuration, or make a new one' },
  worker: { run: worker, help: workerHelp, summary: 'scrub claims from the NATS JetStream queue until stopped' },
  submit: { run: submit, help: submitHelp, summary: 'put the claims of a file on the queue for the workers' },
  results: { run: results, help: resultsHelp, summary: 'collect a queued batch\'s results as NDJSON' },
  history: { run: history, help: historyHelp, summary: 'import past claims into the claim history, purge old ones, count them' },
  remits: { run: remits, help: remitsHelp, summary: 'import 835 remittances and match them to the recorded claims' },
  report: { run: report, help: reportHelp, summary: 'write the rule effectiveness report (text, JSON, Markdown, HTML)' },
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
  const command = COMMANDS[name];
  if (!command) {
    await write(io.stderr, `scrub: there is no command "${name}".\n\n${mainHelp}\n`);
    return EXIT.badInput;
  }
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
