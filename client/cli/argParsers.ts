// Parsers for option values, so a bad one is a usage error that names the option.
import { InvalidArgumentError } from 'commander';

/** A whole number written in digits, within [min, max]. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const trimmed = value.trim();
    if (!/^-?\d+$/.test(trimmed)) throw new InvalidArgumentError('It must be a whole number.');
    const n = Number(trimmed);
    if (n < min || n > max) throw new InvalidArgumentError(`It must be between ${min} and ${max}.`);
    return n;
  };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** `90s`, `10m`, `2h`, `1d` (or plain seconds), as seconds. */
export function duration(value: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('It must be a duration like 90s, 10m, 2h or 1d.');
  return Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
}
