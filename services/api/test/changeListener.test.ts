import { listenForChanges, type ChannelHandler, type Heartbeat } from '../src/db/changeListener';
import { createLogger } from '../src/logger';
import { createTestDatabase, databaseProxy, waitUntil, type TestDatabase } from './helpers';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrated: false });
});

afterAll(() => database.drop());

/** A handler that records what it hears. */
function recorder(): ChannelHandler & { payloads: string[]; heard: boolean[] } {
  const payloads: string[] = [];
  const heard: boolean[] = [];
  return { payloads, heard, notified: (payload) => payloads.push(payload), listening: (on) => heard.push(on) };
}

const notify = (channel: string, payload: string) => database.db.raw('select pg_notify(?, ?)', [channel, payload]);
const isListening = (handler: { heard: boolean[] }) => handler.heard.at(-1) === true;

function listen(handlers: Record<string, ChannelHandler>, url = database.url, heartbeat?: Heartbeat) {
  return listenForChanges(url, handlers, createLogger('silent'), heartbeat);
}

describe('listenForChanges', () => {
  test('when a channel is notified, then its handler alone is called, with the payload', async () => {
    const users = recorder();
    const other = recorder();
    const listener = listen({ users_test: users, 'Other Channel': other });
    try {
      expect(users.heard).toEqual([false]); // nothing heard before the connection is up
      await waitUntil(() => isListening(users) && isListening(other));
      await notify('users_test', 'alice');
      await notify('Other Channel', '*');
      await waitUntil(() => users.payloads.length === 1 && other.payloads.length === 1);
      expect(users.payloads).toEqual(['alice']);
      expect(other.payloads).toEqual(['*']);
    } finally {
      await listener.stop();
    }
    expect(users.heard.at(-1)).toBe(false);
  });

  test('when a channel has no handler, then it is not listened to and its notifications reach no one', async () => {
    const users = recorder();
    const listener = listen({ users_test: users });
    try {
      await waitUntil(() => isListening(users));
      await notify('not_listened', 'x');
      await notify('users_test', 'after');
      await waitUntil(() => users.payloads.length === 1);
      expect(users.payloads).toEqual(['after']);
      const listened = await database.db.raw("select count(*)::int as n from pg_stat_activity where query = 'LISTEN \"not_listened\"'");
      expect(listened.rows[0].n).toBe(0);
    } finally {
      await listener.stop();
    }
  });

  test('when its backend is terminated, then handlers hear it is down, and it reconnects and hears again', async () => {
    const users = recorder();
    const listener = listen({ terminated_test: users });
    try {
      await waitUntil(() => isListening(users));
      const killed = await database.db.raw(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query = 'LISTEN \"terminated_test\"'",
      );
      expect(killed.rows).toHaveLength(1);
      await waitUntil(() => users.heard.includes(false, 1));
      await waitUntil(() => isListening(users), 5000);
      await notify('terminated_test', 'again');
      await waitUntil(() => users.payloads.includes('again'));
    } finally {
      await listener.stop();
    }
  });

  test('when the listening connection dies without a word, then the heartbeat finds out and handlers hear it is down', async () => {
    const proxy = await databaseProxy(new URL(database.url));
    const users = recorder();
    const listener = listen({ quiet_test: users }, proxy.url, { everyMs: 100, timeoutMs: 300 });
    try {
      await waitUntil(() => isListening(users));
      proxy.freeze(); // packets stop; no FIN, no RST, as when a NAT forgets the connection
      await waitUntil(() => !isListening(users), 3000);
    } finally {
      await listener.stop();
      proxy.close();
    }
  });
});
