/**
 * The value, which the test expects to be there (a list item, a regex group, a map entry): a missing one
 * fails the test with `what` instead of a TypeError further on.
 */
export function need<T>(value: T | undefined, what = 'value'): T {
  if (value === undefined) throw new Error(`Expected ${what} to be present`);
  return value;
}
