// Is a process, or a process group, still running? Used to prove a step left nothing behind.
//
// A killed orphan is re-parented to PID 1; in some containers PID 1 reaps late or never, so the
// dead process lingers as a zombie and `kill(pid, 0)` still succeeds. A zombie runs no code and
// holds nothing but its pid, so on Linux it counts as gone here.
import fs from 'node:fs';

interface ProcStat {
  state: string;
  pgrp: number;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may hold spaces: read the fields after it.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
}

const hasProc = fs.existsSync('/proc/self/stat');

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

export function isAlive(pid: number): boolean {
  if (!signalZero(pid)) return false;
  return hasProc ? procStat(pid)?.state !== 'Z' : true;
}

/** Pids of the group's members that are still running (on Linux); [pgid] elsewhere if any is. */
export function liveGroupMembers(pgid: number): number[] {
  if (!signalZero(-pgid)) return [];
  if (!hasProc) return [pgid];
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const stat = procStat(pid);
      return stat !== undefined && stat.pgrp === pgid && stat.state !== 'Z';
    });
}

/** Pids of running processes whose command line contains `marker` (Linux). */
export function processesWith(marker: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes(marker) && procStat(pid)?.state !== 'Z';
      } catch {
        return false;
      }
    });
}

/**
 * Shell text a step can use for the pid of the server that runs it: a server forks its steps
 * through its step launcher (server/workflow/stepLauncher.ts), so a step's parent is the
 * launcher's helper process, and the helper's parent is the server.
 */
export const STEP_SERVER_PID = '$(ps -o ppid= -p $PPID | tr -d " ")';
