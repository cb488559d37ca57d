import type { Knex } from 'knex';

// Text search (q=): a normalised copy of procedure (unaccented, lower-case, punctuation to spaces)
// kept by PostgreSQL and trigram-indexed; q's words go through the same function. The extensions
// come from db/api-role.sql in the stack (its role may not create them). The wrapper names
// unaccent's dictionary, so it is immutable; pg_c_utf8: Unicode's case and letter rules. A space
// at each end: '% word %' is a whole word, '% word%' the start of one.
export async function up(knex: Knex): Promise<void> {
  await knex.raw("SET LOCAL lock_timeout = '10s'");
  await knex.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public');
  await knex.raw('CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public');
  const utf8 = (await knex.raw("SELECT pg_encoding_to_char(encoding) = 'UTF8' AS utf8 FROM pg_database WHERE datname = current_database()")).rows[0].utf8;
  await knex.raw(`
    CREATE FUNCTION starter_search_text(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
      RETURN btrim(regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, $1) COLLATE ${utf8 ? 'pg_c_utf8' : '"C"'}), '[^[:alnum:]]+', ' ', 'g'));
    ALTER TABLE starter_pxcodes ADD COLUMN search_text text COLLATE "C" GENERATED ALWAYS AS (' ' || starter_search_text(procedure) || ' ') STORED;
    CREATE INDEX starter_pxcodes_search_text ON starter_pxcodes USING gin (search_text public.gin_trgm_ops);
    ANALYZE starter_pxcodes (search_text);
  `);
}

// The extensions stay: they may predate this, and only their owner may drop them.
export async function down(knex: Knex): Promise<void> {
  await knex.raw("SET LOCAL lock_timeout = '10s'");
  await knex.raw(`
    DROP INDEX starter_pxcodes_search_text;
    ALTER TABLE starter_pxcodes DROP COLUMN search_text;
    DROP FUNCTION starter_search_text(text);
  `);
}
