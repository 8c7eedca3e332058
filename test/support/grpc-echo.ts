// Test helpers over the example echo service.
export * from '../../examples/echo-service.js';

/** Retries `fn` until it stops throwing (config reaching a client takes a push). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  throw last;
}
