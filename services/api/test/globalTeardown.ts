export default async function globalTeardown(): Promise<void> {
  await globalThis.stopTestRedis?.();
  await globalThis.stopTestDatabase?.();
}
