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

/**
 * Version 2: what the scrubber found on every recording of a claim (kept when a later version
 * or a replacement removes the claim's lines), and the payers' remittances (835) matched to
 * them. None of it cascades from history_claims: a denial stays beside the version it denied.
 */
function recordingsAndRemittances(dialect: 'sqlite' | 'postgresql'): string {
  const real = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  const serial = dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY';
  return `
    CREATE TABLE history_recordings (
      seq ${serial},
      claim_id TEXT NOT NULL,
      replaces TEXT,
      frequency_code TEXT,
      payer_id TEXT NOT NULL,
      recorded_at TEXT NOT NULL,
      last_service_date TEXT NOT NULL,
      lines TEXT NOT NULL,
      findings TEXT
    );
    CREATE INDEX history_recordings_claim ON history_recordings (claim_id, seq);
    CREATE INDEX history_recordings_replaces ON history_recordings (replaces);
    CREATE INDEX history_recordings_recorded ON history_recordings (recorded_at);
    CREATE INDEX history_recordings_last_service ON history_recordings (last_service_date);
    CREATE TABLE remit_files (
      sha256 TEXT PRIMARY KEY,
      source TEXT,
      bytes BIGINT NOT NULL,
      interchanges TEXT NOT NULL,
      payments INTEGER NOT NULL,
      imported INTEGER NOT NULL,
      imported_at TEXT NOT NULL
    );
    CREATE TABLE remit_transactions (
      content_hash TEXT PRIMARY KEY,
      file_sha256 TEXT NOT NULL,
      interchange_control TEXT NOT NULL,
      group_control TEXT NOT NULL,
      transaction_control TEXT NOT NULL,
      payer_id TEXT,
      payer_name TEXT,
      trace_number TEXT NOT NULL,
      originator_id TEXT,
      payment_amount ${real} NOT NULL,
      payment_method TEXT,
      payment_date TEXT,
      claims INTEGER NOT NULL,
      imported_at TEXT NOT NULL
    );
    CREATE INDEX remit_transactions_imported ON remit_transactions (imported_at);
    CREATE TABLE remit_payments (
      identity TEXT PRIMARY KEY,
      transaction_hash TEXT NOT NULL,
      seq INTEGER NOT NULL,
      claim_id TEXT NOT NULL,
      matched_claim_id TEXT,
      recording_seq BIGINT,
      matched_by TEXT NOT NULL,
      status_code TEXT NOT NULL,
      outcome TEXT NOT NULL,
      payer_claim_number TEXT,
      payer_id TEXT NOT NULL,
      charge ${real} NOT NULL,
      paid ${real} NOT NULL,
      patient_responsibility ${real},
      adjustments TEXT NOT NULL,
      remarks TEXT NOT NULL,
      service_date TEXT NOT NULL,
      adjudicated_on TEXT,
      reversed_by TEXT,
      imported_at TEXT NOT NULL
    );
    CREATE INDEX remit_payments_matched ON remit_payments (matched_claim_id);
    CREATE INDEX remit_payments_claim ON remit_payments (claim_id);
    CREATE INDEX remit_payments_payer_claim ON remit_payments (payer_claim_number);
    CREATE INDEX remit_payments_service ON remit_payments (service_date);
    CREATE TABLE remit_lines (
      identity TEXT NOT NULL REFERENCES remit_payments (identity) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      line_number INTEGER,
      procedure_code TEXT NOT NULL,
      modifiers TEXT NOT NULL,
      submitted_code TEXT,
      service_date TEXT,
      charge ${real} NOT NULL,
      paid ${real} NOT NULL,
      units ${real} NOT NULL,
      outcome TEXT NOT NULL,
      adjustments TEXT NOT NULL,
      remarks TEXT NOT NULL,
      PRIMARY KEY (identity, seq)
    );
    CREATE TABLE remit_provider_adjustments (
      identity TEXT PRIMARY KEY,
      transaction_hash TEXT NOT NULL,
      provider_id TEXT NOT NULL,
      fiscal_period_date TEXT,
      reason TEXT NOT NULL,
      reference TEXT,
      amount ${real} NOT NULL,
      imported_at TEXT NOT NULL
    );
  `;
}

/**
 * Version 3: each recorded claim's lines as the one read per scrub needs them, one row per
 * claim keyed by (patient key, claim id) and its lines packed as one JSON text (packedLines in
 * store.ts). With 10-line claims this table is a third of the pages of
 * history_lines and hands the driver 2 values per claim instead of 10 per line, for a read that
 * runs between two scrubs with cold caches. history_lines stays the full record (billing NPI,
 * diagnoses, ...). Existing claims are packed from history_lines when the migration runs.
 * Version 4 drops the table again (measured: no gain).
 */
export const PACK_LINES_SQL = {
  sqlite: `INSERT INTO history_patient_claims (patient_key, claim_id, read_lines)
    SELECT patient_key, claim_id,
           json_group_array(json_array(line_number, payer_id, provider_npi, service_date, service_date_end, procedure_code, modifiers, units, charge))
    FROM (SELECT * FROM history_lines ORDER BY patient_key, claim_id, line_number)
    GROUP BY patient_key, claim_id`,
  postgresql: `INSERT INTO history_patient_claims (patient_key, claim_id, read_lines)
    SELECT patient_key, claim_id,
           json_agg(json_build_array(line_number, payer_id, provider_npi, service_date, service_date_end, procedure_code, modifiers, units, charge) ORDER BY line_number)::text
    FROM history_lines
    GROUP BY patient_key, claim_id`,
} as const;

function patientClaims(dialect: 'sqlite' | 'postgresql'): string {
  const clustered = dialect === 'sqlite' ? ' WITHOUT ROWID' : '';
  return `
    CREATE TABLE history_patient_claims (
      patient_key TEXT NOT NULL,
      claim_id TEXT NOT NULL REFERENCES history_claims (claim_id) ON DELETE CASCADE,
      read_lines TEXT NOT NULL,
      PRIMARY KEY (patient_key, claim_id)
    )${clustered};
    CREATE INDEX history_patient_claims_claim ON history_patient_claims (claim_id);
    ${PACK_LINES_SQL[dialect]};
  `;
}

/**
 * Version 4: history_patient_claims dropped again, so that the store keeps one copy of each
 * line. Measured against reading history_lines (clustered by patient key on SQLite, so the read
 * is the same one range scan of a primary key) with 1,000,000 recorded lines, the packed table
 * saved nothing per scrub (CPU per claim within noise, the lines ahead in 3 of 4 pairings) while
 * every recording wrote each line twice. The read goes to history_lines again.
 */
const DROP_PATIENT_CLAIMS = 'DROP TABLE history_patient_claims';

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'claims and lines', sqlite: claimsAndLines('sqlite'), postgresql: claimsAndLines('postgresql') },
  { version: 2, name: 'recordings and remittances', sqlite: recordingsAndRemittances('sqlite'), postgresql: recordingsAndRemittances('postgresql') },
  { version: 3, name: 'lines packed per claim for the read', sqlite: patientClaims('sqlite'), postgresql: patientClaims('postgresql') },
  { version: 4, name: 'one copy of each line (packed lines dropped)', sqlite: DROP_PATIENT_CLAIMS, postgresql: DROP_PATIENT_CLAIMS },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function newerSchemaMessage(where: string, found: number): string {
  return `the history store ${where} has schema version ${found}, newer than this program knows (${LATEST_VERSION}); upgrade the scrubber, or point it at another store`;
}
