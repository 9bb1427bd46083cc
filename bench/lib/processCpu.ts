// CPU time of processes on this machine, read from /proc (Linux only): what a process used itself
// (utime + stime) and what the children it waited for used (cutime + cstime). /proc counts in
// clock ticks of USER_HZ, which Linux fixes at 100 a second for user space.
import fs from 'node:fs/promises';

const TICK_MS = 10;

export interface ProcessCpu {
  /** CPU the process used itself, in ms. */
  selfMs: number;
  /** CPU of the children it reaped (waited for), in ms. */
  childrenMs: number;
}

/** Undefined when the process is gone or there is no /proc. */
export async function processCpu(pid: number): Promise<ProcessCpu | undefined> {
  let stat: string;
  try {
    stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The fields after the command name (in parentheses, maybe with spaces), from field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (field: number) => Number(fields[field - 3]);
  return {
    selfMs: (ticks(14) + ticks(15)) * TICK_MS,
    childrenMs: (ticks(16) + ticks(17)) * TICK_MS,
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
    try {
      const stat = await fs.readFile(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** The command name of a process (`/proc/<pid>/comm`), or undefined. */
export async function processName(pid: number): Promise<string | undefined> {
  try {
    return (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return undefined;
  }
}
