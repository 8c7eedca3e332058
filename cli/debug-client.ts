// Reads isthmusd's HTTP debug endpoints (the `--httpAddr` listener) for the CLI.

export const DEFAULT_ISTHMUSD = process.env.ISTHMUSD_HTTP_ADDR ?? '127.0.0.1:8080';

export async function debugGet<T>(addr: string, path: string, params: Record<string, string> = {}): Promise<T> {
  const url = new URL(`http://${addr}${path}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach isthmusd at ${addr} (${cause?.code ?? cause?.message ?? (e as Error).message}); use --isthmusd HOST:PORT`);
  }
  const body = (await res.json().catch(() => ({ error: `isthmusd answered ${res.status} without JSON` }))) as T | { error: string };
  if (!res.ok || (body && typeof body === 'object' && 'error' in body)) {
    throw new Error(`isthmusd: ${(body as { error?: string }).error ?? res.statusText}`);
  }
  return body as T;
}
