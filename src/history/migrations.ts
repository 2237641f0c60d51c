/**
 * The history schema, as numbered migrations applied in order at start-up (inside one
 * transaction, under a lock, so that several instances starting at once apply each exactly
 * once). A migration is never edited once released: a change is a new migration. A store whose
 * schema is newer than this program knows is refused rather than written to.
 */

export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgresql: string;
}

/** The table that says which migrations a store has. */
export const SCHEMA_TABLE = 'scrub_history_schema';

/**
 * Version 1 in either dialect: they differ only in the float type and SQLite's WITHOUT ROWID.
 * Lines are keyed by patient first, so that on SQLite a patient's lines sit together in the
 * table itself and the one read per claim is a single range scan (through a secondary index
 * it was a seek per line: 8x slower with 1,000,000 lines).
 */
function claimsAndLines(dialect: 'sqlite' | 'postgresql'): string {
  const real = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  const clustered = dialect === 'sqlite' ? ' WITHOUT ROWID' : '';
  return `
    CREATE TABLE history_claims (
      claim_id TEXT PRIMARY KEY,
      patient_key TEXT NOT NULL,
      payer_id TEXT NOT NULL,
      frequency_code TEXT,
      last_service_date TEXT NOT NULL,
      line_count INTEGER NOT NULL,
      recorded_at TEXT NOT NULL
    )${clustered};
    CREATE INDEX history_claims_last_service ON history_claims (last_service_date);
    CREATE TABLE history_lines (
      claim_id TEXT NOT NULL REFERENCES history_claims (claim_id) ON DELETE CASCADE,
      line_number INTEGER NOT NULL,
      patient_key TEXT NOT NULL,
      payer_id TEXT NOT NULL,
      provider_npi TEXT NOT NULL,
      billing_npi TEXT NOT NULL,
      service_date TEXT NOT NULL,
      service_date_end TEXT,
      procedure_code TEXT NOT NULL,
      modifiers TEXT NOT NULL,
      units ${real} NOT NULL,
      charge ${real} NOT NULL,
      place_of_service TEXT,
      diagnoses TEXT NOT NULL,
      frequency_code TEXT,
      recorded_at TEXT NOT NULL,
      PRIMARY KEY (patient_key, claim_id, line_number)
    )${clustered};
    CREATE INDEX history_lines_claim ON history_lines (claim_id);
  `;
}

export const MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'claims and lines', sqlite: claimsAndLines('sqlite'), postgresql: claimsAndLines('postgresql') }];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function newerSchemaMessage(where: string, found: number): string {
  return `the history store ${where} has schema version ${found}, newer than this program knows (${LATEST_VERSION}); upgrade the scrubber, or point it at another store`;
}
