/** The fields of an object that are not undefined (DTO instances carry every declared field). */
export function definedFields<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The one item of a list, or undefined when it holds none or several. */
export function soleItem<T>(items: readonly T[]): T | undefined {
  return items.length === 1 ? items[0] : undefined;
}
