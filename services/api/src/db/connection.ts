import { createDatabase, waitForDatabase, type Database } from './database';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded';
import type { Logger } from '../logger';

/** The settings it needs (the API's Config has them). */
export interface DatabaseSettings {
  DATABASE_URL?: string | undefined;
  EMBEDDED_PG_DIR: string;
  EMBEDDED_PG_PORT: number;
  DB_POOL_MAX: number;
  DB_WAIT_SECONDS: number;
}

export interface DatabaseConnection {
  db: Database;
  url: string;
  close(): Promise<void>;
}

/**
 * DATABASE_URL when given, else the embedded PostgreSQL (the server owns it; CLI commands share
 * a running one); waits until it answers.
 */
export async function connectDatabase(
  config: DatabaseSettings,
  logger: Logger,
  embeddedMode: 'own' | 'shared' = 'own',
): Promise<DatabaseConnection> {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres(config.EMBEDDED_PG_DIR, config.EMBEDDED_PG_PORT, logger, embeddedMode);
    url = embedded.url;
    logger.info({ dir: config.EMBEDDED_PG_DIR, port: config.EMBEDDED_PG_PORT }, 'embedded PostgreSQL running');
  }
  const db = createDatabase(url, config.DB_POOL_MAX, logger);
  try {
    await waitForDatabase(db, config.DB_WAIT_SECONDS, logger);
  } catch (error) {
    await db.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    db,
    url,
    async close() {
      await db.destroy();
      await embedded?.stop();
    },
  };
}
