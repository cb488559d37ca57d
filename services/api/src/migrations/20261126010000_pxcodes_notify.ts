import type { Knex } from 'knex';

// Every API process keeps the collection's count and version in memory between writes; this tells
// all of them, at once, that a statement changed the pxcodes (COPY and TRUNCATE included).
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION starter_pxcodes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('starter_pxcodes_changed', '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER starter_pxcodes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON starter_pxcodes
      FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_notify();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER starter_pxcodes_changed ON starter_pxcodes;
    DROP FUNCTION starter_pxcodes_notify();
  `);
}
