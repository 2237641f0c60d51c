/**
 * What the claim history tells the workbench, when the service records claims: how often each
 * rule fired lately, and recorded claims to try an edited pack on. The claim history implements
 * it and the service hands it to `buildApp` (`history`); without it the workbench says
 * "history off" and tries edits on the example claims instead.
 *
 * Counts and claims only ever leave through the authenticated API, and claims never reach a log.
 */

export interface RuleActivityQuery {
  ruleId: string;
  /** First day counted (YYYY-MM-DD, UTC), inclusive. */
  since: string;
  /** Last day counted (YYYY-MM-DD, UTC), inclusive. */
  until: string;
}

export interface RuleActivity {
  ruleId: string;
  since: string;
  until: string;
  /** Claims scrubbed and recorded in the period (whether or not the rule fired). */
  claims: number;
  /** Of those, the claims the rule fired on. */
  fired: number;
  /** Claims the rule fired on, by day (days with none may be left out). */
  byDay: Array<{ date: string; fired: number }>;
}

export interface RecordedClaimSample {
  /** How the claim is named to the user: its claim id and when it was recorded, never patient data. */
  label: string;
  /** The canonical claim, as it was scrubbed. */
  claim: unknown;
}

export interface WorkbenchHistory {
  ruleActivity(query: RuleActivityQuery): Promise<RuleActivity>;
  /**
   * Up to `limit` recently recorded claims, most recent first. Absent when the history keeps no
   * whole claims: the claim history stores codes, dates and a patient key, never a claim's patient
   * data, so a what-if on recorded claims is not offered (the workbench says why).
   */
  recentClaims?(limit: number): Promise<RecordedClaimSample[]>;
}
