// Column-aligned tables as istioctl prints them (tabwriter, three spaces between columns).

/** Commander's way to take an option more than once: each value appended. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function table(rows: string[][], indent = ''): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((r) => indent + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ').trimEnd());
}
