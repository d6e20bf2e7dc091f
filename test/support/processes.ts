import { readdirSync, readFileSync } from 'node:fs';

/** A process as /proc shows it (no ps parsing). */
export interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
}

/** Every process of this machine, read from /proc/<pid>/stat. */
export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close), state: state! });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Live (not zombie) descendants of `root`. */
export function descendants(root: number, all = processes()): Proc[] {
  const found: Proc[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid === parent && p.state !== 'Z') {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

/** Whether a process runs (a zombie does not). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
