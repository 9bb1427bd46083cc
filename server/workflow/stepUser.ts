// STEP_USER: steps run as an unprivileged user when the server runs as root, so a step cannot
// read the server's files or signal its process. Resolved once at start-up.
import { execFileSync } from 'node:child_process';
import { ConfigError } from '../config.js';

export interface StepUser {
  name: string;
  uid: number;
  gid: number;
}

export function resolveStepUser(user: string | undefined): StepUser | undefined {
  if (user === undefined) return undefined;
  if (process.getuid?.() !== 0) {
    throw new ConfigError(
      `STEP_USER=${user} needs the server to run as root (it switches to that user for each step); unset it or run as root`,
    );
  }
  const id = (flag: '-u' | '-g') => {
    try {
      return Number(execFileSync('id', [flag, user], { encoding: 'utf8' }).trim());
    } catch {
      throw new ConfigError(`STEP_USER=${user}: no such user on this machine`);
    }
  };
  const uid = id('-u');
  if (uid === 0) throw new ConfigError(`STEP_USER=${user} is root; name an unprivileged user`);
  return { name: user, uid, gid: id('-g') };
}
