import { Client } from 'pg';
import type { Logger } from '../logger';

export interface ChangeListener {
  stop(): Promise<void>;
}

export interface ChannelHandler {
  notified(payload: string): void;
  /** false while notifications may be missed (not yet connected, lost, stopped), true once heard again. */
  listening(heard: boolean): void;
}

export type ChannelHandlers = Record<string, ChannelHandler>;

export interface Heartbeat {
  everyMs: number;
  timeoutMs: number;
}

const firstRetryMs = 500;
const lastRetryMs = 30_000;

/** While down, handlers hear `listening(false)`; an idle LISTEN socket can die silently, so it is probed.
 * Needs a direct or session-pooled connection: behind a transaction pooler LISTEN hears nothing. */
export function listenForChanges(
  url: string,
  handlers: ChannelHandlers,
  logger: Logger,
  heartbeat: Heartbeat = { everyMs: 5000, timeoutMs: 3000 },
): ChangeListener {
  const listener = new Listener(url, handlers, logger, heartbeat);
  listener.connect();
  return { stop: () => listener.stop() };
}

class Listener {
  private client: Client | undefined;
  private stopped = false;
  private retryDelay = firstRetryMs;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly handlers: ChannelHandlers,
    private readonly logger: Logger,
    private readonly heartbeat: Heartbeat,
  ) {
    this.setListening(false);
  }

  connect(): void {
    const client = new Client({ connectionString: this.url, keepAlive: true });
    this.client = client;
    client.on('notification', ({ channel, payload }) => this.handlers[channel]?.notified(payload ?? ''));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    void this.listen(client).catch((error: Error) => this.lost(client, error));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    this.setListening(false);
    await this.client?.end().catch(() => undefined);
  }

  private async listen(client: Client): Promise<void> {
    await client.connect();
    for (const channel of Object.keys(this.handlers)) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    if (this.stopped) return void (await client.end());
    this.retryDelay = firstRetryMs;
    this.setListening(true);
    this.heartbeatTimer = setInterval(() => this.beat(client), this.heartbeat.everyMs);
    this.heartbeatTimer.unref();
  }

  private beat(client: Client): void {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the change listener did not answer in time')), this.heartbeat.timeoutMs);
    });
    Promise.race([client.query('SELECT 1'), deadline])
      .catch((error: Error) => this.lost(client, error))
      .finally(() => clearTimeout(timer));
  }

  private lost(client: Client, error?: Error): void {
    if (this.stopped || this.client !== client) return;
    this.client = undefined;
    clearInterval(this.heartbeatTimer);
    this.logger.warn({ err: error }, 'lost the database change listener; in-memory caches off until it is back');
    void client.end().catch(() => undefined);
    this.setListening(false);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, lastRetryMs);
  }

  private setListening(heard: boolean): void {
    for (const handler of Object.values(this.handlers)) handler.listening(heard);
  }
}
