/**
 * Claim input formats: one entry point, `readClaims`, that turns JSON, NDJSON, X12 837P/837I
 * and FHIR R4 Claim/Bundle text into canonical claims, each able to say where a finding's field
 * came from in the file. See README.md beside this file.
 */
export { readClaims, openClaims, openArrivingClaims, detectFormat, type ArrivingClaims } from './read.js';
export { completeResult, withSources } from './decorate.js';
export { scrubRead, type ItemResult } from './scrub.js';
export { SourceMap } from './locator.js';
export type {
  ClaimFormat,
  ClaimStream,
  Locator,
  ReadClaim,
  ReadFailure,
  ReadHint,
  ReadItem,
  ReadPosition,
  ReadProblem,
  ReadProblemRecord,
  ReadRecord,
  ReadResult,
  TextPosition,
} from './types.js';
export type { FindingSource, FhirSource, X12Source } from '../findings/finding.js';
