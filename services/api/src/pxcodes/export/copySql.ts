import type { Knex } from 'knex';
import type { Database } from '../../db/database';
import type { ListSpec } from '../listQuery';
import { matching, orderOf } from '../listRepository';

export const csvColumns = ['pxcode', 'procedure'] as const;
export type CsvColumn = (typeof csvColumns)[number];

/**
 * The statement of an export: the rows the list would page through, in its order, as CSV. COPY
 * takes no bind parameters, so knex writes each value into the text as an escaped literal.
 */
export function copySql(db: Database, spec: ListSpec, columns: readonly CsvColumn[]): string {
  return `COPY (${inlined(selectAll(db, spec, columns))}) TO STDOUT WITH (FORMAT csv, HEADER)`;
}

function selectAll(db: Database, spec: ListSpec, columns: readonly CsvColumn[]): Knex.QueryBuilder {
  const query = matching(db, spec).select(...columns);
  for (const key of orderOf(spec)) query.orderBy(key.column, key.descending ? 'desc' : 'asc');
  return query;
}

/** The query's text with its values written in: knex quotes strings (E'' with backslashes doubled). */
export const inlined = (query: Knex.QueryBuilder | Knex.Raw): string => query.toQuery();
