import { ClaimHistory } from '../history/claim-history.js';
import { HistorySetupError, readHistoryConfig } from '../history/config.js';
import { write, type CliIo } from './io.js';

/**
 * Opens the claim history a command's --history names (a SQLite file or a postgres:// URL);
 * null, after saying why on stderr, when it cannot be used. Only the flag turns history on for
 * the CLI: a what-if check must not read or write a service's history by accident.
 */
export async function openHistoryOrReport(location: string | undefined, io: CliIo, command: string, dataDir?: string): Promise<ClaimHistory | null> {
  try {
    const config = readHistoryConfig(location === undefined ? io.env : { ...io.env, SCRUB_HISTORY_URL: undefined }, { ...(location !== undefined ? { location } : {}), ...(dataDir ? { dataDir } : {}), cwd: io.cwd });
    if (!config) {
      await write(io.stderr, `${command}: name the claim history with --history PATH|URL (or set SCRUB_HISTORY_URL or SCRUB_DATA_DIR)\n`);
      return null;
    }
    return await ClaimHistory.open(config);
  } catch (err) {
    const detail = err instanceof HistorySetupError ? `${err.variable}: ${err.message}` : (err as Error).message;
    await write(io.stderr, `${command}: the claim history cannot be used: ${detail}\n`);
    return null;
  }
}
