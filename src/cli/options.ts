// Parsers of numeric command-line option values, shared by the subcommands: a bad value is a commander usage error
// (exit 2) whose message names the flag.
import { CommanderError, InvalidArgumentError } from 'commander';

/** A parser of `what`'s value: a number `valid` accepts (an empty value is not 0), else a usage error saying it must be `expected`. */
export function numberOption(what: string, valid: (n: number) => boolean, expected: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !valid(n)) throw new InvalidArgumentError(`${what} must be ${expected}.`);
    return n;
  };
}

/** An integer ≥ 1. */
export const positiveInt = (what: string) =>
  numberOption(what, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
/** An integer ≥ 0. */
export const nonNegativeInt = (what: string) =>
  numberOption(what, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
/** A finite number > 0. */
export const positiveNumber = (what: string) =>
  numberOption(what, (n) => Number.isFinite(n) && n > 0, 'a positive number');

/** A repeatable option's parser: every value, in order (`--set a=1 --set b=2`). */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Leaves a command with its own exit code: `runProgram` passes a non-zero one through as it is. */
export function exitWith(code: number): void {
  if (code !== 0) throw new CommanderError(code, 'azr.exit', '');
}
