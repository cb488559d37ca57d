import type { Knex } from 'knex';

// API processes may keep the collection's count and version in memory between writes
// (CACHE_COLLECTION_STATE); this tells all of them, at once, that the state row changed: every
// trigger on the pxcodes updates it (COPY and TRUNCATE included), and so does a recount by hand.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION starter_pxcodes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('starter_pxcodes_changed', '');
      RETURN NULL;
    END $$;
    CREATE TRIGGER starter_pxcodes_state_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON starter_pxcodes_state
      FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_notify();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER starter_pxcodes_state_changed ON starter_pxcodes_state;
    DROP FUNCTION starter_pxcodes_notify();
  `);
}
