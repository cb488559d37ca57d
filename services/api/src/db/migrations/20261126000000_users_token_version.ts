import type { Knex } from 'knex';

/**
 * Tokens carry their user's token_version; a token whose version is no longer the user's stops
 * working. It is random rather than a counter, so a user removed and created again (or every user
 * after resetdb, which restarts ids) never matches a token issued before.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE starter_users ADD COLUMN token_version uuid NOT NULL DEFAULT gen_random_uuid();
    CREATE FUNCTION starter_users_new_token_version() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.token_version := gen_random_uuid();
      RETURN NEW;
    END $$;
    CREATE TRIGGER starter_users_credentials_changed
      BEFORE UPDATE OF username, password_hash ON starter_users
      FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)
      EXECUTE FUNCTION starter_users_new_token_version();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER starter_users_credentials_changed ON starter_users;
    DROP FUNCTION starter_users_new_token_version();
    ALTER TABLE starter_users DROP COLUMN token_version;
  `);
}
