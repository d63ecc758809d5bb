import { InvalidArgumentError } from 'commander';

/** commander parser for a positive integer option. */
export function positiveInt(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) throw new InvalidArgumentError('expected a positive integer');
  return Number(raw);
}
