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
