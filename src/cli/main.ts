#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { runOnCommandThread, runsOnCommandThread } from './command-thread.js';
import { tightenHeapFor } from './heap.js';
import { EXIT, UsageError, write, type CliIo } from './io.js';

interface Command {
  run: (args: string[], io: CliIo) => Promise<number>;
  help: string;
}

/**
 * A command whose module exports its run function as `name` and its help as `nameHelp`, loaded
 * when the command runs: `scrub check` does not load the report charts, the queue client or the
 * database drivers of other commands (about 30 MiB of resident memory in every run, and the
 * start-up time to compile them).
 */
function command<N extends string>(name: N, load: () => Promise<Record<N, Command['run']> & Record<`${N}Help`, string>>, summary: string) {
  return {
    load: async (): Promise<Command> => {
      const module = await load();
      const helps: Record<`${N}Help`, string> = module;
      return { run: module[name], help: helps[`${name}Help`] };
    },
    summary,
  };
}

const COMMANDS: Record<string, ReturnType<typeof command>> = {
  check: command('check', () => import('./commands/check.js'), 'scrub claims and print their findings'),
  lint: command('lint', () => import('./commands/lint.js'), 'check rule packs and print problems as file:line:column'),
  test: command('test', () => import('./commands/test.js'), 'run the tests beside the rule packs'),
  docs: command('docs', () => import('./commands/docs.js'), 'write Markdown docs of the rule packs'),
  serve: command('serve', () => import('./commands/serve.js'), 'start the HTTP service'),
  tables: command('tables', () => import('./commands/tables.js'), 'list, verify, diff and fetch the CMS tables behind the packs'),
  keys: command('keys', () => import('./commands/keys.js'), 'hash an API key for the service configuration, or make a new one'),
  worker: command('worker', () => import('./commands/worker.js'), 'scrub claims from the NATS JetStream queue until stopped'),
  submit: command('submit', () => import('./commands/submit.js'), 'put the claims of a file on the queue for the workers'),
  results: command('results', () => import('./commands/results.js'), 'collect a queued batch\'s results as NDJSON'),
  history: command('history', () => import('./commands/history.js'), 'import past claims into the claim history, purge old ones, count them'),
  remits: command('remits', () => import('./commands/remits.js'), 'import 835 remittances and match them to the recorded claims'),
  report: command('report', () => import('./commands/report.js'), 'write the rule effectiveness report (text, JSON, Markdown, HTML)'),
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
  // The command thread imports this module too, with the process's argv.
  if (!isMainThread) return false;
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
  const argv = process.argv.slice(2);
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, cwd: process.cwd(), env: process.env };
  (runsOnCommandThread(argv) ? runOnCommandThread(argv, io) : runCli(argv, io)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`scrub: unexpected error: ${err.stack ?? err.message}\n`);
      process.exitCode = EXIT.badInput;
    },
  );
}
