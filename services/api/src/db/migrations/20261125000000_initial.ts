import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('starter_pxcodes', (table) => {
    table.increments('id');
    table.string('pxcode', 10).notNullable().unique();
    table.text('procedure').notNullable();
  });
  await knex.schema.createTable('starter_users', (table) => {
    table.increments('id');
    table.string('username', 100).notNullable().unique();
    table.text('password_hash').notNullable();
    table.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // Every API process caches verified credentials; this tells all of them, at once, that a user's
  // password changed or the user is gone, whichever process or psql session made the change.
  await knex.raw(`
    CREATE FUNCTION starter_users_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('starter_users_changed', CASE WHEN TG_LEVEL = 'ROW' THEN OLD.username ELSE '*' END);
      RETURN NULL;
    END $$;
    CREATE TRIGGER starter_users_changed
      AFTER UPDATE OR DELETE ON starter_users
      FOR EACH ROW EXECUTE FUNCTION starter_users_notify();
    CREATE TRIGGER starter_users_truncated
      AFTER TRUNCATE ON starter_users
      FOR EACH STATEMENT EXECUTE FUNCTION starter_users_notify();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('starter_users');
  await knex.raw('DROP FUNCTION starter_users_notify()');
  await knex.schema.dropTable('starter_pxcodes');
}
