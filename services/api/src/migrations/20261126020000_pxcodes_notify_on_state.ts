import type { Knex } from 'knex';

// The notification moves from starter_pxcodes to its state row: every trigger on the pxcodes
// updates that row, and so does a recount by hand (see the README), which must be heard too.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER starter_pxcodes_changed ON starter_pxcodes;
    CREATE TRIGGER starter_pxcodes_state_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON starter_pxcodes_state
      FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_notify();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER starter_pxcodes_state_changed ON starter_pxcodes_state;
    CREATE TRIGGER starter_pxcodes_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON starter_pxcodes
      FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_notify();
    SELECT pg_notify('starter_pxcodes_changed', '');
  `);
}
