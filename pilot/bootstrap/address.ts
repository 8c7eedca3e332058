// Istio's address flags: "HOST:PORT" or ":PORT" (all interfaces).

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(flag: string, value: string): ListenAddress {
  const m = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(value.trim());
  if (!m) throw new Error(`invalid ${flag} ${JSON.stringify(value)}: expected HOST:PORT or :PORT`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`invalid ${flag} ${JSON.stringify(value)}: port out of range`);
  const host = m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port };
}

export function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
