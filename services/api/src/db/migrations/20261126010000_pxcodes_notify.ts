import type { Knex } from 'knex';

// For an opt-in since removed (the collection's state kept in memory between writes): told every
// API process that the state row changed. Dropped by 20261203000000_pxcodes_notify_dropped.
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
