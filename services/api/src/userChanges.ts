import { Client } from 'pg';
import type { CredentialCache } from './auth';
import type { Logger } from './logger';

export interface UserChangeListener {
  stop(): Promise<void>;
}

/**
 * Drops cached credentials the moment a user's row changes (the migration's trigger notifies on
 * every UPDATE or DELETE), on every API process. While not listening, the cache is off.
 */
export function listenForUserChanges(url: string, cache: CredentialCache, logger: Logger): UserChangeListener {
  let client: Client | undefined;
  let stopped = false;
  let retryDelay = 500;
  let retryTimer: NodeJS.Timeout | undefined;

  const reconnectLater = () => {
    cache.setEnabled(false);
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30_000);
  };

  const connect = async () => {
    const current = new Client({ connectionString: url });
    client = current;
    current.on('notification', (message) => {
      // '*' is sent when the whole table was emptied or recreated.
      if (message.payload === '*') cache.clear();
      else if (message.payload !== undefined) cache.invalidateUser(message.payload);
    });
    const lost = (error?: Error) => {
      if (stopped || client !== current) return;
      client = undefined;
      logger.warn({ err: error }, 'lost the user change listener; credential cache off until it is back');
      void current.end().catch(() => undefined);
      reconnectLater();
    };
    current.on('error', lost);
    current.on('end', () => lost());
    try {
      await current.connect();
      await current.query('LISTEN starter_users_changed');
      if (stopped) return void (await current.end());
      retryDelay = 500;
      cache.setEnabled(true);
    } catch (error) {
      lost(error as Error);
    }
  };

  cache.setEnabled(false);
  void connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      cache.setEnabled(false);
      await client?.end().catch(() => undefined);
    },
  };
}
