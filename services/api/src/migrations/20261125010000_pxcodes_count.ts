import type { Knex } from 'knex';

// The exact number of pxcodes, kept by the database itself (every INSERT, DELETE, TRUNCATE and
// COPY, whoever runs it), so a list request reads one row instead of counting a million.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE starter_pxcodes_count (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      total bigint NOT NULL
    );
    INSERT INTO starter_pxcodes_count (total) SELECT count(*) FROM starter_pxcodes;

    CREATE FUNCTION starter_pxcodes_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE starter_pxcodes_count SET total = total + (SELECT count(*) FROM inserted);
      RETURN NULL;
    END $$;
    CREATE FUNCTION starter_pxcodes_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE starter_pxcodes_count SET total = total - (SELECT count(*) FROM deleted);
      RETURN NULL;
    END $$;
    CREATE FUNCTION starter_pxcodes_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE starter_pxcodes_count SET total = 0;
      RETURN NULL;
    END $$;

    CREATE TRIGGER starter_pxcodes_counted_insert AFTER INSERT ON starter_pxcodes
      REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_count_insert();
    CREATE TRIGGER starter_pxcodes_counted_delete AFTER DELETE ON starter_pxcodes
      REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_count_delete();
    CREATE TRIGGER starter_pxcodes_counted_truncate AFTER TRUNCATE ON starter_pxcodes
      FOR EACH STATEMENT EXECUTE FUNCTION starter_pxcodes_count_truncate();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER starter_pxcodes_counted_insert ON starter_pxcodes;
    DROP TRIGGER starter_pxcodes_counted_delete ON starter_pxcodes;
    DROP TRIGGER starter_pxcodes_counted_truncate ON starter_pxcodes;
    DROP FUNCTION starter_pxcodes_count_insert();
    DROP FUNCTION starter_pxcodes_count_delete();
    DROP FUNCTION starter_pxcodes_count_truncate();
    DROP TABLE starter_pxcodes_count;
  `);
}
