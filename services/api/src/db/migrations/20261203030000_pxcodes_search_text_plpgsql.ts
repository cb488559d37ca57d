import type { Knex } from 'knex';

// The same normalising as before, in PL/pgSQL: a stored generated column calls its function once a
// row, and a SQL function's call there (not inlined: unaccent is only stable) costs more than the
// work it does; PL/pgSQL keeps the expression ready between calls (docs/performance.md, imports).
// Same output, so no stored value changes. The body names its schemas: a restore runs it with an
// empty search_path.
const body = (collation: string) =>
  `btrim(regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, $1) COLLATE ${collation}), '[^[:alnum:]]+', ' ', 'g'))`;

async function collation(knex: Knex): Promise<string> {
  const result = await knex.raw("SELECT pg_encoding_to_char(encoding) = 'UTF8' AS utf8 FROM pg_database WHERE datname = current_database()");
  return result.rows[0].utf8 ? 'pg_catalog.pg_c_utf8' : 'pg_catalog."C"';
}

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE OR REPLACE FUNCTION starter_search_text(text) RETURNS text LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
    AS $fn$ BEGIN RETURN ${body(await collation(knex))}; END $fn$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`CREATE OR REPLACE FUNCTION starter_search_text(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ${body(await collation(knex))}`);
}
