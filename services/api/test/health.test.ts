import { createDatabase } from '../src/db/database';
import { databaseAnswers, sharedCheck } from '../src/health';
import { createTestDatabase, databaseProxy, type TestDatabase } from './helpers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A check that answers `up` after `delayMs`, or never when `delayMs` is Infinity; counts its calls and timeouts given. */
function fakeCheck(delayMs: number, up = true) {
  const calls: number[] = [];
  let finish: (() => void) | undefined;
  const check = (timeoutMs: number) => {
    calls.push(timeoutMs);
    return new Promise<boolean>((resolve) => {
      finish = () => resolve(up);
      if (Number.isFinite(delayMs)) setTimeout(finish, delayMs);
    });
  };
  return { check, calls, finish: () => finish?.() };
}

describe('sharedCheck', () => {
  test('when many ask at once and again within the max age, then one check answers them all; after the max age, a new one runs', async () => {
    const fake = fakeCheck(20);
    const ready = sharedCheck(fake.check, 200);
    expect(await Promise.all(Array.from({ length: 100 }, ready))).toEqual(Array(100).fill(true));
    expect(await ready()).toBe(true);
    expect(fake.calls).toEqual([100]);
    await sleep(220);
    expect(await ready()).toBe(true);
    expect(fake.calls).toHaveLength(2);
  });

  test('when the check hangs, then every caller hears "down" within half the max age, and no second check starts until it ends', async () => {
    const fake = fakeCheck(Infinity);
    const ready = sharedCheck(fake.check, 200);
    const asked = performance.now();
    expect(await Promise.all(Array.from({ length: 20 }, ready))).toEqual(Array(20).fill(false));
    expect(performance.now() - asked).toBeLessThan(180);
    for (let round = 0; round < 3; round++) {
      await sleep(220);
      expect(await ready()).toBe(false);
    }
    expect(fake.calls).toHaveLength(1);
    fake.finish();
    await sleep(220);
    await ready();
    expect(fake.calls).toHaveLength(2);
  });

  test('when the check fails, then it counts as down', async () => {
    const ready = sharedCheck(() => Promise.reject(new Error('refused')), 200);
    expect(await ready()).toBe(false);
  });
});

describe('databaseAnswers', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
  });
  afterAll(() => database.drop());

  test('when the database answers, then true', async () => {
    expect(await databaseAnswers(database.db, 500)).toBe(true);
  });

  test('when the database hangs, then false within the timeout, and the hung connection leaves the pool', async () => {
    const gateway = await databaseProxy(new URL(database.url));
    const db = createDatabase(gateway.url, 2);
    try {
      expect(await databaseAnswers(db, 500)).toBe(true);
      gateway.freeze();
      const asked = performance.now();
      expect(await databaseAnswers(db, 300)).toBe(false);
      expect(performance.now() - asked).toBeLessThan(1000);
      const pool = db.client.pool as { numUsed(): number };
      await sleep(50);
      expect(pool.numUsed()).toBe(0);
    } finally {
      gateway.close();
      await db.destroy();
    }
  });
});
