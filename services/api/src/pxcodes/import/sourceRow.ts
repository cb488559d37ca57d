import { z } from 'zod';
import { describeZodError } from '../../errors';
import { procedureSchema, pxcodeSchema, type NewPxcode } from '../schema';

/** The two file formats an import reads: the seed's INSERT statements, or pxcode,procedure CSV. */
export type ImportFormat = 'sql' | 'csv';

/** A line the import cannot take: the whole import stops, naming it. */
export class ImportError extends Error {
  override name = 'ImportError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export interface SourceRow {
  /** Rows in file order; the line number itself for SQL, the record number for CSV. */
  position: number;
  row: NewPxcode;
}

const rowSchema = z.object({ pxcode: pxcodeSchema, procedure: procedureSchema });

/** The row as the API would take it, or what is wrong with it. */
export function parseRow(candidate: unknown): { row: NewPxcode } | { problem: string } {
  const result = rowSchema.safeParse(candidate);
  return result.success ? { row: result.data } : { problem: describeZodError(result.error) };
}
