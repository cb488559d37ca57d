import type { Knex } from 'knex';

// Nothing listens for writes to the pxcodes any more: the collection's state is read per request
// (shared reads), and cached answers are keyed by the version that read returns.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER starter_pxcodes_state_changed ON starter_pxcodes_state;
    DROP FUNCTION starter_pxcodes_notify();
  `);
}

export async function down(knex: Knex): Promise<void> {
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
