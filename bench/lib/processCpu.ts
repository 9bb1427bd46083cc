// CPU time of processes on this machine, read from /proc/<pid>/stat (Linux only): what a process
// used itself (utime + stime) and what the children it waited for used (cutime + cstime). /proc
// counts in clock ticks of USER_HZ, which Linux fixes at 100 a second for user space.
import fs from 'node:fs/promises';

const TICK_MS = 10;

export interface ProcessStat {
  /** The command name (`comm`, at most 15 characters). */
  name: string;
  ppid: number;
  /** CPU the process used itself, in ms. */
  selfMs: number;
  /** CPU of the children it reaped (waited for), in ms. */
  childrenMs: number;
}

/** Undefined when the process is gone or there is no /proc. */
export async function processStat(pid: number): Promise<ProcessStat | undefined> {
  let stat: string;
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // `pid (comm) state ppid …`: the name may hold spaces and parentheses, so it ends at the last
  // `)`; the fields after it are numbered from 3 (state).
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return {
    name: stat.slice(stat.indexOf('(') + 1, close),
    ppid: field(4),
    selfMs: (field(14) + field(15)) * TICK_MS,
    childrenMs: (field(16) + field(17)) * TICK_MS,
  };
}

/** The pids whose parent is `pid`. */
export async function childPids(pid: number): Promise<number[]> {
  let names: string[];
  try {
    names = await fs.readdir('/proc');
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    if ((await processStat(Number(name)))?.ppid === pid) children.push(Number(name));
  }
  return children;
}
