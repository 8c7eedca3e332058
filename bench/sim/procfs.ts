// Resource use of another process, from Linux's /proc.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat times (USER_HZ: 100 on Linux for every architecture that matters). */
const CLK_TCK = 100;

/**
 * User + system CPU seconds the process has used so far, or with `mainThread` only its main
 * thread's: the rest of a Node process is mostly V8's helper threads (optimizing compilation,
 * concurrent marking and sweeping), so the difference is what those cost beside the event loop.
 */
export function cpuSeconds(pid: number, mainThread = false): number {
  const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at state (field 3).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / CLK_TCK;
}

/** VmHWM (peak resident set) and VmRSS, in bytes. */
export function memory(pid: number): { peakRssBytes: number; rssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : 0;
  };
  return { peakRssBytes: kb('VmHWM'), rssBytes: kb('VmRSS') };
}
