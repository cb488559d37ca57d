import type { Knex } from 'knex';

// One row for each import that committed (the CLI's, and scripts/importSql.sh's), written in the
// import's own transaction: the API reads its sums for the import counters on /metrics.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE starter_imports (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      finished_at timestamptz NOT NULL DEFAULT now(),
      format text NOT NULL CHECK (format IN ('csv', 'sql')),
      rows_read bigint NOT NULL CHECK (rows_read >= 0),
      rows_written bigint NOT NULL CHECK (rows_written >= 0)
    )
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE starter_imports');
}
