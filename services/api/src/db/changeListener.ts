import { Client } from 'pg';
import type { CredentialCache } from '../auth/credentialCache';
import type { Logger } from '../logger';
import type { CollectionStateCache } from '../pxcodes/cache/stateCache';

export interface ChangeListener {
  stop(): Promise<void>;
}

/** What a process keeps in memory that PostgreSQL's notifications keep true. */
export interface ChangeTargets {
  /** Cached credentials, dropped the moment a user's row changes (the users trigger). */
  credentials?: CredentialCache;
  /** The collection's count and version, dropped at every write to the pxcodes (their trigger). */
  collection?: CollectionStateCache;
}

/** How often the listening connection proves it is alive, and how long the proof may take. */
export interface Heartbeat {
  everyMs: number;
  timeoutMs: number;
}

/**
 * One LISTEN connection per process, reconnecting on its own. While it is down nothing is kept in
 * memory (each cache is off), so no process goes on serving what another has changed. An idle
 * LISTEN socket can die without a word (a NAT or firewall forgetting it, a host gone): TCP
 * keepalive and a query every few seconds find that out, and it counts as down.
 * Needs a direct (or session-pooled) connection: behind a transaction pooler, LISTEN hears nothing.
 */
export function listenForChanges(
  url: string,
  targets: ChangeTargets,
  logger: Logger,
  { everyMs, timeoutMs }: Heartbeat = { everyMs: 5000, timeoutMs: 3000 },
): ChangeListener {
  let client: Client | undefined;
  let stopped = false;
  let retryDelay = 500;
  let retryTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const setListening = (listening: boolean) => {
    targets.credentials?.setEnabled(listening);
    targets.collection?.setEnabled(listening);
  };

  const reconnectLater = () => {
    setListening(false);
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void connect();
    }, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30_000);
  };

  const connect = async () => {
    const current = new Client({ connectionString: url, keepAlive: true });
    client = current;
    current.on('notification', (message) => {
      if (message.channel === 'starter_pxcodes_changed') targets.collection?.invalidate();
      if (message.channel !== 'starter_users_changed' || message.payload === undefined) return;
      // '*' is sent when the whole users table was emptied or recreated.
      if (message.payload === '*') targets.credentials?.clear();
      else targets.credentials?.invalidateUser(message.payload);
    });
    const lost = (error?: Error) => {
      if (stopped || client !== current) return;
      client = undefined;
      clearInterval(heartbeat);
      logger.warn({ err: error }, 'lost the database change listener; in-memory caches off until it is back');
      void current.end().catch(() => undefined);
      reconnectLater();
    };
    current.on('error', lost);
    current.on('end', () => lost());
    try {
      await current.connect();
      if (targets.credentials) await current.query('LISTEN starter_users_changed');
      if (targets.collection) await current.query('LISTEN starter_pxcodes_changed');
      if (stopped) return void (await current.end());
      retryDelay = 500;
      setListening(true);
      heartbeat = setInterval(() => {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('the change listener did not answer in time')), timeoutMs);
        });
        Promise.race([current.query('SELECT 1'), deadline]).then(
          () => clearTimeout(timer),
          (error: Error) => {
            clearTimeout(timer);
            lost(error);
          },
        );
      }, everyMs);
      heartbeat.unref();
    } catch (error) {
      lost(error as Error);
    }
  };

  setListening(false);
  void connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(retryTimer);
      clearInterval(heartbeat);
      setListening(false);
      await client?.end().catch(() => undefined);
    },
  };
}
