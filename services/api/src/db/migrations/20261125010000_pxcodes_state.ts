import type { Knex } from 'knex';

// The exact number of pxcodes and a version of the collection, kept by the database itself (every
// INSERT, UPDATE, DELETE, TRUNCATE and COPY, whoever runs it): a list request reads one row
// instead of counting a million, and knows whether a page it built before is still current.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Counted under a lock, so no insert slips in between the count and the triggers.
    LOCK TABLE starter_pxcodes IN SHARE ROW EXCLUSIVE MODE;
    -- epoch: a new one whenever this table is made again (resetdb), as version then restarts.
    CREATE TABLE starter_pxcodes_state (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      total bigint NOT NULL,
      version bigint NOT NULL DEFAULT 1,
      epoch uuid NOT NULL DEFAULT gen_random_uuid()
    );
    INSERT INTO starter_pxcodes_state (total) SELECT count(*) FROM starter_pxcodes;

    CREATE FUNCTION starter_pxcodes_state_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE starter_pxcodes_state SET total = total + (SELECT count(*) FROM inserted), version = version + 1;
      RETURN NULL;
    END $$;
    CREATE FUNCTION starter_pxcodes_state_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE starter_pxcodes_state SET total = total - (SELECT count(*) FROM deleted), version = version + 1;
      RETURN NULL;
    END $$;
    CREATE FUNCTION starter_pxcodes_state_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE starter_pxcodes_state SET total = CASE WHEN TG_OP = 'TRUNCATE' THEN 0 ELSE total END, version = version + 1;
      RETURN NULL;
    END $$;

    CREATE TRIGGER starter_pxcodes_state_insert AFTER INSERT ON starter_pxcodes
      REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_state_insert();
    CREATE TRIGGER starter_pxcodes_state_delete AFTER DELETE ON starter_pxcodes
      REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_state_delete();
    CREATE TRIGGER starter_pxcodes_state_change AFTER UPDATE OR TRUNCATE ON starter_pxcodes
      FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_state_change();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER starter_pxcodes_state_insert ON starter_pxcodes;
    DROP TRIGGER starter_pxcodes_state_delete ON starter_pxcodes;
    DROP TRIGGER starter_pxcodes_state_change ON starter_pxcodes;
    DROP FUNCTION starter_pxcodes_state_insert();
    DROP FUNCTION starter_pxcodes_state_delete();
    DROP FUNCTION starter_pxcodes_state_change();
    DROP TABLE starter_pxcodes_state;
  `);
}
