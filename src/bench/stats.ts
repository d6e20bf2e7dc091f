import { readFileSync } from 'node:fs';

/** Percentile by nearest rank over a copy of the values; NaN for an empty list. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values: number[]) => percentile(values, 50);

/** Rounds for a results file: figures, not noise. */
export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Peak resident set of this process so far, in MB: VmHWM, the high-water mark of this process's own memory.
 * (getrusage's maxRSS would do on its own, but Linux carries it across fork and exec: a child would report its parent's peak.)
 */
export function peakRssMb(): number {
  const kb = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return kb ? round(Number(kb[1]) / 1024, 1) : round(process.resourceUsage().maxRSS / 1024, 1);
}

/** Peak resident set of another process (VmHWM), in MB; null once it has exited. */
export async function peakRssOfPid(pid: number): Promise<number | null> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmHWM:\s+(\d+)\s+kB/.exec(status);
    return kb ? round(Number(kb[1]) / 1024, 1) : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far; null once it has exited. */
export function cpuSecondsOfPid(pid: number): number | null {
  try {
    // Fields 14 and 15 of /proc/PID/stat, after the parenthesised command name; in clock ticks (100 per second).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}
