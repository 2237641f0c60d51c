import type { TableFormat, TableFormatDefinition } from '../model.js';
import { hcpcsFormat } from './hcpcs.js';
import { icd10cmOrderFormat } from './icd10cm-order.js';
import { mceCodeEditsFormat } from './mce.js';
import { feeScheduleFormat } from './mpfs-rvu.js';
import { mueFormat } from './mue.js';
import { addOnCodeFormat } from './ncci-add-on.js';
import { ncciPtpFormat } from './ncci-ptp.js';
import { placeOfServiceFormat } from './place-of-service.js';

/** Every table format a pack can declare, by the name pack.yaml uses. */
export const TABLE_FORMAT_DEFINITIONS: ReadonlyMap<TableFormat, TableFormatDefinition<unknown>> = new Map(
  ([ncciPtpFormat, mueFormat, icd10cmOrderFormat, mceCodeEditsFormat, hcpcsFormat, placeOfServiceFormat, feeScheduleFormat, addOnCodeFormat] as TableFormatDefinition<unknown>[]).map(
    (f) => [f.format, f],
  ),
);
